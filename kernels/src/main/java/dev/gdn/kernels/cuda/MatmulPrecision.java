package dev.gdn.kernels.cuda;

import java.util.Locale;

/**
 * How the GPU computes the model's matrix products (projections, MLP, LM head) through cuBLAS. The
 * gated delta rule, norms and attention always run in fp32.
 */
public enum MatmulPrecision {
    /** fp32 weights and activations, fp32 arithmetic: the CPU's results within rounding. */
    FP32,
    /** fp32 weights and activations, products on tensor cores in TF32 (10-bit mantissa), fp32 sums. */
    TF32,
    /**
     * Weights held in bfloat16 (half the memory and bandwidth), products on tensor cores with fp32 sums.
     * Activations enter as two bfloat16 parts (the rounded value and the rounding error), so only the
     * weights' rounding shows in the results.
     */
    BF16;

    /**
     * @throws IllegalArgumentException naming the value when it is not fp32, tf32 or bf16
     */
    public static MatmulPrecision parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("matmul precision '" + s + "' is not one of fp32, tf32, bf16");
        }
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
