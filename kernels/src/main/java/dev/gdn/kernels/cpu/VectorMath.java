package dev.gdn.kernels.cpu;

/**
 * The inner loops every CPU kernel is built from. Two implementations: {@link ScalarMath} (plain
 * loops, always there, the reference) and {@code SimdMath} (the Vector API, used when the
 * {@code jdk.incubator.vector} module is present). {@link #best()} picks one.
 *
 * <p>Determinism contract: for given arguments the result bits depend only on the implementation and
 * the lengths, never on which other rows or heads are computed alongside; in particular each element
 * of {@link #matmulTransposed} equals {@link #dot} of its row pair bit for bit. This is what makes a
 * batched forward batch-invariant.
 */
public interface VectorMath {

    /** Name for logs and benchmark tables, e.g. {@code "scalar"} or {@code "simd-256"}. */
    String name();

    /** {@code sum_i a[ao+i] * b[bo+i]} for i in [0, n). */
    float dot(float[] a, int ao, float[] b, int bo, int n);

    /** {@code sum_i x[off+i]^2}. */
    float sumOfSquares(float[] x, int off, int n);

    /** Whether every value of {@code x} is finite (neither NaN nor infinite). */
    default boolean allFinite(float[] x) {
        for (float v : x) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    /** {@code y[yo+i] += a * x[xo+i]}. */
    void axpy(float a, float[] x, int xo, float[] y, int yo, int n);

    /** {@code y1[i] += a1 * x[i]; y2[i] += a2 * x[i]}: one pass over x feeding two accumulators. */
    void axpy2(float a1, float a2, float[] x, int xo, float[] y1, int y1o, float[] y2, int y2o, int n);

    /** {@code y[yo+i] = b * y[yo+i] + a * x[xo+i]}. */
    void axpby(float a, float[] x, int xo, float b, float[] y, int yo, int n);

    /** {@code x[off+i] *= s}. */
    void scale(float s, float[] x, int off, int n);

    /**
     * {@code y[r, o] = dot(x[r, :], w[o, :])} for rows r in [0, rows) and outputs o in [from, to).
     *
     * @param x       input rows: [rows, in] starting at {@code xo}
     * @param w       weight rows: [out, in] starting at 0 (PyTorch's Linear layout)
     * @param y       output: [rows, yStride] starting at {@code yo}; column o is written
     */
    void matmulTransposed(float[] x, int xo, int rows, int in, float[] w, int from, int to, float[] y, int yo,
            int yStride);

    /**
     * {@code c[i, j] (+)= sum_p a[i, p] * b[p, j]}, all row-major with leading dimensions lda, ldb, ldc.
     * Each element is one fused multiply-add chain over p in ascending order (so tiling never changes
     * bits).
     *
     * @param m          rows of a and c
     * @param n          columns of b and c
     * @param k          columns of a, rows of b
     * @param accumulate add to c when true, overwrite c when false
     */
    void gemm(int m, int n, int k, float[] a, int ao, int lda, float[] b, int bo, int ldb, float[] c, int co,
            int ldc, boolean accumulate);

    /**
     * Two transposed matrix-vector products in one pass over a block of S:
     * {@code y1[c] = sum_a x1[a] * s[a, c]} and {@code y2[c] = sum_a x2[a] * s[a, c]}, each one fused
     * multiply-add chain over a in ascending order.
     *
     * @param s     matrix rows {@code [rows, ld]} starting at {@code so}; columns {@code [0, width)} are read
     * @param x1    {@code [rows]} at {@code x1o}
     * @param x2    {@code [rows]} at {@code x2o}
     * @param y1    {@code [width]}, overwritten
     * @param y2    {@code [width]}, overwritten
     */
    void gemvTransposed2(float[] s, int so, int ld, int rows, int width, float[] x1, int x1o, float[] x2, int x2o,
            float[] y1, float[] y2);

    /**
     * Decay and rank-1 write of a block of S: {@code s[a, c] = alpha * s[a, c] + x[a] * u[c]}.
     *
     * @param s matrix rows {@code [rows, ld]} starting at {@code so}; columns {@code [0, width)} are updated
     * @param x {@code [rows]} at {@code xo}
     * @param u {@code [width]}
     */
    void decayRank1(float[] s, int so, int ld, int rows, int width, float alpha, float[] x, int xo, float[] u);

    /**
     * {@link #decayRank1} with a decay of its own per row: {@code s[a, c] = alphas[a] * s[a, c] + x[a] * u[c]},
     * each element bit for bit {@code decayRank1} of its row alone.
     *
     * @param alphas {@code [rows]} at {@code ao}
     */
    void rowDecayRank1(float[] s, int so, int ld, int rows, int width, float[] alphas, int ao, float[] x, int xo,
            float[] u);

    /** In place: {@code x[off+i] = silu(x[off+i])}, SiLU being {@code x * sigmoid(x)}. */
    void silu(float[] x, int off, int n);

    /** A SiLU gate: {@code x[xo+i] *= silu(g[go+i])}. */
    void mulSilu(float[] x, int xo, float[] g, int go, int n);

    /** The Vector API implementation when its module is present, else the scalar one. */
    static VectorMath best() {
        return VectorMathProvider.BEST;
    }

    /** The plain-loop implementation. */
    static VectorMath scalar() {
        return ScalarMath.INSTANCE;
    }
}
