package dev.gdn.kernels.ops;

import dev.gdn.kernels.cpu.Parallel;
import dev.gdn.kernels.cpu.VectorMath;

/** {@code y = x W^T (+ b)}, tiled over rows and output columns and run in parallel. */
public final class Linear {
    private static final int ROW_BLOCK = 64;
    private static final int COL_BLOCK = 32;

    private Linear() {
    }

    /**
     * @param x    {@code [rows, in]}
     * @param w    {@code [out, in]}
     * @param bias {@code [out]} or null
     * @return     {@code [rows, out]}; each element is {@link VectorMath#dot} of its row pair (plus bias),
     *             so the result of a row never depends on the other rows
     */
    public static float[] apply(Parallel par, VectorMath math, float[] x, int rows, int in, float[] w, int out,
            float[] bias) {
        float[] y = new float[rows * out];
        applyInto(par, math, x, rows, in, w, out, bias, y);
        return y;
    }

    /**
     * As {@link #apply}, written into the first {@code rows * out} floats of {@code y} (every one of them
     * assigned; {@code y} may be longer, e.g. a {@link dev.gdn.kernels.cpu.Scratch} buffer).
     *
     * @return {@code y}
     */
    public static float[] applyInto(Parallel par, VectorMath math, float[] x, int rows, int in, float[] w, int out,
            float[] bias, float[] y) {
        if (y.length < rows * out) {
            throw new IllegalArgumentException("y has " + y.length + " floats, needs at least " + rows * out);
        }
        int rowTiles = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
        int colTiles = (out + COL_BLOCK - 1) / COL_BLOCK;
        long work = (long) Math.min(rows, ROW_BLOCK) * Math.min(out, COL_BLOCK) * in;
        par.forEach(rowTiles * colTiles, work, task -> {
            int r0 = (task / colTiles) * ROW_BLOCK;
            int c0 = (task % colTiles) * COL_BLOCK;
            int nr = Math.min(ROW_BLOCK, rows - r0);
            int c1 = Math.min(out, c0 + COL_BLOCK);
            math.matmulTransposed(x, r0 * in, nr, in, w, c0, c1, y, r0 * out, out);
            if (bias != null) {
                for (int r = r0; r < r0 + nr; r++) {
                    for (int c = c0; c < c1; c++) {
                        y[r * out + c] += bias[c];
                    }
                }
            }
        });
        return y;
    }
}
