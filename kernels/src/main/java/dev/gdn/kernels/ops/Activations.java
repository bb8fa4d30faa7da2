package dev.gdn.kernels.ops;

/** Scalar activation functions, computed in double and rounded once. */
public final class Activations {
    private Activations() {
    }

    /** {@code x * sigmoid(x)} (SiLU, "swish"). */
    public static float silu(float x) {
        return (float) (x / (1.0 + Math.exp(-x)));
    }

    public static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }

    /** {@code log(1 + exp(x))}, linear above 20 as in PyTorch. */
    public static float softplus(float x) {
        return x > 20f ? x : (float) Math.log1p(Math.exp(x));
    }

    /** In place: {@code x[i] = silu(x[i])}. */
    public static void siluInPlace(float[] x, int off, int n) {
        for (int i = 0; i < n; i++) {
            x[off + i] = silu(x[off + i]);
        }
    }
}
