package dev.gdn.kernels.ops;

import dev.gdn.kernels.cpu.VectorMath;

/** RMSNorm, gated RMSNorm and L2 normalisation of one vector at a time. */
public final class Norms {
    /** Epsilon of the q/k L2 normalisation (FLA's value). */
    public static final float L2_EPS = 1e-6f;

    private Norms() {
    }

    /**
     * RMSNorm: {@code out = x / sqrt(mean(x^2) + eps) * weight}.
     *
     * @param x      {@code [n]} at {@code xo}
     * @param weight {@code [n]}
     * @param out    {@code [n]} at {@code oo}; may be x itself
     */
    public static void rmsNorm(VectorMath math, float[] x, int xo, int n, float[] weight, float eps, float[] out,
            int oo) {
        float inv = (float) (1.0 / Math.sqrt(math.sumOfSquares(x, xo, n) / n + eps));
        for (int i = 0; i < n; i++) {
            out[oo + i] = x[xo + i] * inv * weight[i];
        }
    }

    /**
     * Gated RMSNorm: {@code x = rmsNorm(x) * silu(gate)}, in place.
     *
     * @param x    {@code [n]} at {@code xo}
     * @param gate {@code [n]} at {@code go}, or null for no gate
     */
    public static void gatedRmsNormInPlace(VectorMath math, float[] x, int xo, int n, float[] weight, float eps,
            float[] gate, int go) {
        rmsNorm(math, x, xo, n, weight, eps, x, xo);
        if (gate != null) {
            math.mulSilu(x, xo, gate, go, n);
        }
    }

    /** L2 normalisation in place: {@code x = x / sqrt(sum(x^2) + 1e-6)}. */
    public static void l2NormInPlace(VectorMath math, float[] x, int xo, int n) {
        float inv = (float) (1.0 / Math.sqrt(math.sumOfSquares(x, xo, n) + L2_EPS));
        math.scale(inv, x, xo, n);
    }
}
