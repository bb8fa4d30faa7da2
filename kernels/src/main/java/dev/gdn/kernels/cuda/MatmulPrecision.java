package dev.gdn.kernels.cuda;

import java.util.Locale;

/**
 * How the GPU computes the model's matrix products (projections, MLP, LM head) through cuBLAS. Norms
 * and attention always run in fp32; the chunkwise gated delta rule has its own {@link ChunkPrecision}.
 */
public enum MatmulPrecision {
    /** fp32 weights and activations, fp32 arithmetic: the CPU's results within rounding. */
    FP32,
    /** fp32 weights and activations, products on tensor cores in TF32 (10-bit mantissa), fp32 sums. */
    TF32,
    /**
     * Weights and activations in bfloat16, one product on tensor cores with fp32 sums: the precision
     * class of a bf16 PyTorch model (FLA's), half the weight memory and bandwidth.
     */
    BF16,
    /**
     * Weights held in bfloat16 (half the memory and bandwidth), products on tensor cores with fp32 sums.
     * Activations enter as two bfloat16 parts (the rounded value and the rounding error), two products
     * in one call, so only the weights' rounding shows in the results.
     */
    BF16_WEIGHTS;

    /** The names {@link #parse} accepts. */
    public static final String NAMES = "fp32, tf32, bf16, bf16-weights";

    /**
     * @throws IllegalArgumentException naming the value when it is not one of {@link #NAMES}
     */
    public static MatmulPrecision parse(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        for (MatmulPrecision p : values()) {
            if (p.label().equals(v)) {
                return p;
            }
        }
        throw new IllegalArgumentException("matmul precision '" + s + "' is not one of " + NAMES);
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Whether the weights are held in bfloat16. */
    public boolean bf16Weights() {
        return this == BF16 || this == BF16_WEIGHTS;
    }
}
