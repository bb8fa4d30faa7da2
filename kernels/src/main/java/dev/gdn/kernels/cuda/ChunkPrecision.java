package dev.gdn.kernels.cuda;

import java.util.Locale;

/**
 * How the chunkwise gated delta rule computes its matrix products on the GPU. Decays, the triangular
 * solve and the state carried between chunks are fp32 in every form.
 */
public enum ChunkPrecision {
    /** fp32 fused multiply-adds on the ordinary cores: about 1e-7 from the double-precision reference. */
    FP32("fp32"),
    /**
     * Tensor cores, every operand split into two TF32 parts and three products taken (the small-by-small
     * one dropped): fp32-class accuracy, within the 1e-4 chunkwise tolerance.
     */
    TF32X3("3xtf32"),
    /** Tensor cores on bfloat16 operands with fp32 sums: the precision class of FLA's chunk kernel. */
    BF16("bf16");

    private final String label;

    ChunkPrecision(String label) {
        this.label = label;
    }

    /**
     * @throws IllegalArgumentException naming the value when it is not fp32, 3xtf32 or bf16
     */
    public static ChunkPrecision parse(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        for (ChunkPrecision p : values()) {
            if (p.label.equals(v)) {
                return p;
            }
        }
        throw new IllegalArgumentException("chunk precision '" + s + "' is not one of fp32, 3xtf32, bf16");
    }

    public String label() {
        return label;
    }

    /** Whether the form runs on tensor cores. */
    public boolean tensorCores() {
        return this != FP32;
    }
}
