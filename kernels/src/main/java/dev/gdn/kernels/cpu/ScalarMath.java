package dev.gdn.kernels.cpu;

/**
 * Plain loops. Reductions accumulate in double, which makes this the more accurate of the two
 * implementations: the reference model forward runs on it.
 */
public final class ScalarMath implements VectorMath {
    static final ScalarMath INSTANCE = new ScalarMath();

    private ScalarMath() {
    }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) a[ao + i] * b[bo + i];
        }
        return (float) s;
    }

    @Override
    public float sumOfSquares(float[] x, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double v = x[off + i];
            s += v * v;
        }
        return (float) s;
    }

    @Override
    public void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        for (int i = 0; i < n; i++) {
            y[yo + i] += a * x[xo + i];
        }
    }

    @Override
    public void axpy2(float a1, float a2, float[] x, int xo, float[] y1, int y1o, float[] y2, int y2o, int n) {
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            y1[y1o + i] += a1 * v;
            y2[y2o + i] += a2 * v;
        }
    }

    @Override
    public void axpby(float a, float[] x, int xo, float b, float[] y, int yo, int n) {
        for (int i = 0; i < n; i++) {
            y[yo + i] = b * y[yo + i] + a * x[xo + i];
        }
    }

    @Override
    public void scale(float s, float[] x, int off, int n) {
        for (int i = 0; i < n; i++) {
            x[off + i] *= s;
        }
    }

    @Override
    public void matmulTransposed(float[] x, int xo, int rows, int in, float[] w, int from, int to, float[] y,
            int yo, int yStride) {
        for (int r = 0; r < rows; r++) {
            for (int o = from; o < to; o++) {
                y[yo + r * yStride + o] = dot(x, xo + r * in, w, o * in, in);
            }
        }
    }

    @Override
    public void gemm(int m, int n, int k, float[] a, int ao, int lda, float[] b, int bo, int ldb, float[] c, int co,
            int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = accumulate ? c[co + i * ldc + j] : 0f;
                for (int p = 0; p < k; p++) {
                    s = Math.fma(a[ao + i * lda + p], b[bo + p * ldb + j], s);
                }
                c[co + i * ldc + j] = s;
            }
        }
    }

    @Override
    public void gemvTransposed2(float[] s, int so, int ld, int rows, int width, float[] x1, int x1o, float[] x2,
            int x2o, float[] y1, float[] y2) {
        java.util.Arrays.fill(y1, 0, width, 0f);
        java.util.Arrays.fill(y2, 0, width, 0f);
        for (int a = 0; a < rows; a++) {
            float p1 = x1[x1o + a];
            float p2 = x2[x2o + a];
            int row = so + a * ld;
            for (int c = 0; c < width; c++) {
                y1[c] = Math.fma(s[row + c], p1, y1[c]);
                y2[c] = Math.fma(s[row + c], p2, y2[c]);
            }
        }
    }

    @Override
    public void decayRank1(float[] s, int so, int ld, int rows, int width, float alpha, float[] x, int xo,
            float[] u) {
        for (int a = 0; a < rows; a++) {
            float xa = x[xo + a];
            int row = so + a * ld;
            for (int c = 0; c < width; c++) {
                s[row + c] = Math.fma(u[c], xa, s[row + c] * alpha);
            }
        }
    }

    @Override
    public void rowDecayRank1(float[] s, int so, int ld, int rows, int width, float[] alphas, int ao, float[] x,
            int xo, float[] u) {
        for (int a = 0; a < rows; a++) {
            decayRank1(s, so + a * ld, ld, 1, width, alphas[ao + a], x, xo + a, u);
        }
    }

    /** {@link dev.gdn.kernels.ops.Activations#silu}: in double, rounded once (the reference). */
    @Override
    public void silu(float[] x, int off, int n) {
        dev.gdn.kernels.ops.Activations.siluInPlace(x, off, n);
    }

    @Override
    public void mulSilu(float[] x, int xo, float[] g, int go, int n) {
        for (int i = 0; i < n; i++) {
            x[xo + i] *= dev.gdn.kernels.ops.Activations.silu(g[go + i]);
        }
    }
}
