package dev.gdn.kernels.ops;

import dev.gdn.kernels.cpu.Scratch;
import dev.gdn.kernels.cpu.VectorMath;

/**
 * Depthwise causal 1-D convolution of width W followed by SiLU, with a cache of the last W - 1 inputs
 * so that a stream can be fed in pieces.
 *
 * <p>{@code y[t, d] = silu(sum_j w[d, j] * x[t - (W - 1) + j, d])}, where inputs before the run come
 * from the cache (zeros for a new stream).
 */
public final class ShortConvolution {
    private static final Scratch.Slot WINDOW = Scratch.slot("conv.window");

    private ShortConvolution() {
    }

    /**
     * Convolves rows {@code [firstRow, firstRow + tokens)} of {@code x} in place and updates the cache.
     *
     * @param x      {@code [rows, D]}, pre-convolution input; overwritten with the activated output
     * @param dim    D
     * @param weight {@code [D, W]} (PyTorch's {@code [D, 1, W]})
     * @param width  W
     * @param cache  {@code [W - 1, D]}, oldest first; updated to the last W - 1 inputs
     */
    public static void applyInPlace(float[] x, int firstRow, int tokens, int dim, float[] weight, int width,
            float[] cache) {
        applyInPlace(VectorMath.scalar(), x, firstRow, tokens, dim, weight, null, width, cache);
    }

    /**
     * As {@link #applyInPlace(float[], int, int, int, float[], int, float[])}, adding {@code bias[d]}
     * ({@code [D]}, or null for none) to each channel's sum before the SiLU.
     */
    public static void applyInPlace(float[] x, int firstRow, int tokens, int dim, float[] weight, float[] bias,
            int width, float[] cache) {
        applyInPlace(VectorMath.scalar(), x, firstRow, tokens, dim, weight, bias, width, cache);
    }

    /** As above, the SiLU of each output row taken by {@code math} (the reference: {@link VectorMath#scalar()}). */
    public static void applyInPlace(VectorMath math, float[] x, int firstRow, int tokens, int dim, float[] weight,
            float[] bias, int width, float[] cache) {
        int hist = width - 1;
        if (tokens == 0) {
            return;
        }
        // window [hist + tokens, D]: the cached inputs, then this run's inputs
        float[] window = Scratch.floats(WINDOW, (hist + tokens) * dim);
        System.arraycopy(cache, 0, window, 0, hist * dim);
        System.arraycopy(x, firstRow * dim, window, hist * dim, tokens * dim);
        for (int t = 0; t < tokens; t++) {
            int out = (firstRow + t) * dim;
            for (int d = 0; d < dim; d++) {
                float s = 0f;
                for (int j = 0; j < width; j++) {
                    s = Math.fma(weight[d * width + j], window[(t + j) * dim + d], s);
                }
                x[out + d] = bias == null ? s : s + bias[d];
            }
            math.silu(x, out, dim);
        }
        System.arraycopy(window, tokens * dim, cache, 0, hist * dim);
    }
}
