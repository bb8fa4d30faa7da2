package dev.gdn.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link VectorMath} on the Vector API: scalar head, vector body, scalar tail.
 *
 * <p>The species is fixed at 256 bits wherever the CPU has them (AVX2 and AVX-512 alike), so that a
 * job's CPU results are the same bits on every x86 TaskManager. Reductions sum the lanes in a fixed
 * order and every multiply-add is a fused one, so interpreted and compiled code agree too. Loaded
 * reflectively by {@link VectorMathProvider} only when {@code jdk.incubator.vector} is present.
 */
final class SimdMath implements VectorMath {
    static final SimdMath INSTANCE = new SimdMath();

    private static final VectorSpecies<Float> S = VectorShape.preferredShape().vectorBitSize() >= 256
            ? FloatVector.SPECIES_256 : FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private SimdMath() {
    }

    @Override
    public String name() {
        return "simd-" + S.vectorBitSize();
    }

    /** Sum of the lanes, lane 0 first: the one reduction order used everywhere. */
    private static float sumLanes(FloatVector v, float[] scratch) {
        v.intoArray(scratch, 0);
        float s = 0f;
        for (int i = 0; i < L; i++) {
            s += scratch[i];
        }
        return s;
    }

    /** Completes a dot product: the lanes of {@code acc}, then the scalar tail from {@code from}. */
    private static float finish(FloatVector acc, float[] a, int ao, float[] b, int bo, int from, int n,
            float[] scratch) {
        float s = sumLanes(acc, scratch);
        for (int i = from; i < n; i++) {
            s = Math.fma(a[ao + i], b[bo + i], s);
        }
        return s;
    }

    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        int ub = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < ub; i += L) {
            acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
        }
        return finish(acc, a, ao, b, bo, ub, n, new float[L]);
    }

    private float dot(float[] a, int ao, float[] b, int bo, int n, float[] scratch) {
        int ub = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < ub; i += L) {
            acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
        }
        return finish(acc, a, ao, b, bo, ub, n, scratch);
    }

    @Override
    public float sumOfSquares(float[] x, int off, int n) {
        return dot(x, off, x, off, n);
    }

    /** x * 0 is 0 for a finite x and NaN otherwise; the NaN stays in the sum: no branch per element. */
    @Override
    public boolean allFinite(float[] x) {
        int ub = S.loopBound(x.length);
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i < ub; i += L) {
            acc = acc.add(FloatVector.fromArray(S, x, i).mul(0f));
        }
        if (acc.test(VectorOperators.IS_NAN).anyTrue()) {
            return false;
        }
        for (; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        int ub = S.loopBound(n);
        FloatVector va = FloatVector.broadcast(S, a);
        int i = 0;
        for (; i < ub; i += L) {
            FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] = Math.fma(x[xo + i], a, y[yo + i]);
        }
    }

    @Override
    public void axpy2(float a1, float a2, float[] x, int xo, float[] y1, int y1o, float[] y2, int y2o, int n) {
        int ub = S.loopBound(n);
        FloatVector v1 = FloatVector.broadcast(S, a1);
        FloatVector v2 = FloatVector.broadcast(S, a2);
        int i = 0;
        for (; i < ub; i += L) {
            FloatVector xv = FloatVector.fromArray(S, x, xo + i);
            xv.fma(v1, FloatVector.fromArray(S, y1, y1o + i)).intoArray(y1, y1o + i);
            xv.fma(v2, FloatVector.fromArray(S, y2, y2o + i)).intoArray(y2, y2o + i);
        }
        for (; i < n; i++) {
            float v = x[xo + i];
            y1[y1o + i] = Math.fma(v, a1, y1[y1o + i]);
            y2[y2o + i] = Math.fma(v, a2, y2[y2o + i]);
        }
    }

    @Override
    public void axpby(float a, float[] x, int xo, float b, float[] y, int yo, int n) {
        int ub = S.loopBound(n);
        FloatVector va = FloatVector.broadcast(S, a);
        FloatVector vb = FloatVector.broadcast(S, b);
        int i = 0;
        for (; i < ub; i += L) {
            FloatVector yb = FloatVector.fromArray(S, y, yo + i).mul(vb);
            FloatVector.fromArray(S, x, xo + i).fma(va, yb).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] = Math.fma(x[xo + i], a, y[yo + i] * b);
        }
    }

    @Override
    public void scale(float s, float[] x, int off, int n) {
        int ub = S.loopBound(n);
        FloatVector vs = FloatVector.broadcast(S, s);
        int i = 0;
        for (; i < ub; i += L) {
            FloatVector.fromArray(S, x, off + i).mul(vs).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= s;
        }
    }

    @Override
    public void matmulTransposed(float[] x, int xo, int rows, int in, float[] w, int from, int to, float[] y,
            int yo, int yStride) {
        int ub = S.loopBound(in);
        float[] scratch = new float[L];
        int r = 0;
        for (; r + 1 < rows; r += 2) {
            int x0 = xo + r * in;
            int x1 = x0 + in;
            int y0 = yo + r * yStride;
            int y1 = y0 + yStride;
            int o = from;
            for (; o + 3 < to; o += 4) {
                int w0 = o * in;
                int w1 = w0 + in;
                int w2 = w1 + in;
                int w3 = w2 + in;
                FloatVector a0 = FloatVector.zero(S);
                FloatVector a1 = FloatVector.zero(S);
                FloatVector a2 = FloatVector.zero(S);
                FloatVector a3 = FloatVector.zero(S);
                FloatVector b0 = FloatVector.zero(S);
                FloatVector b1 = FloatVector.zero(S);
                FloatVector b2 = FloatVector.zero(S);
                FloatVector b3 = FloatVector.zero(S);
                for (int i = 0; i < ub; i += L) {
                    FloatVector xa = FloatVector.fromArray(S, x, x0 + i);
                    FloatVector xb = FloatVector.fromArray(S, x, x1 + i);
                    FloatVector v0 = FloatVector.fromArray(S, w, w0 + i);
                    FloatVector v1 = FloatVector.fromArray(S, w, w1 + i);
                    FloatVector v2 = FloatVector.fromArray(S, w, w2 + i);
                    FloatVector v3 = FloatVector.fromArray(S, w, w3 + i);
                    a0 = xa.fma(v0, a0);
                    a1 = xa.fma(v1, a1);
                    a2 = xa.fma(v2, a2);
                    a3 = xa.fma(v3, a3);
                    b0 = xb.fma(v0, b0);
                    b1 = xb.fma(v1, b1);
                    b2 = xb.fma(v2, b2);
                    b3 = xb.fma(v3, b3);
                }
                y[y0 + o] = finish(a0, x, x0, w, w0, ub, in, scratch);
                y[y0 + o + 1] = finish(a1, x, x0, w, w1, ub, in, scratch);
                y[y0 + o + 2] = finish(a2, x, x0, w, w2, ub, in, scratch);
                y[y0 + o + 3] = finish(a3, x, x0, w, w3, ub, in, scratch);
                y[y1 + o] = finish(b0, x, x1, w, w0, ub, in, scratch);
                y[y1 + o + 1] = finish(b1, x, x1, w, w1, ub, in, scratch);
                y[y1 + o + 2] = finish(b2, x, x1, w, w2, ub, in, scratch);
                y[y1 + o + 3] = finish(b3, x, x1, w, w3, ub, in, scratch);
            }
            for (; o < to; o++) {
                y[y0 + o] = dot(x, x0, w, o * in, in, scratch);
                y[y1 + o] = dot(x, x1, w, o * in, in, scratch);
            }
        }
        for (; r < rows; r++) {
            int x0 = xo + r * in;
            int y0 = yo + r * yStride;
            int o = from;
            for (; o + 3 < to; o += 4) {
                int w0 = o * in;
                int w1 = w0 + in;
                int w2 = w1 + in;
                int w3 = w2 + in;
                FloatVector a0 = FloatVector.zero(S);
                FloatVector a1 = FloatVector.zero(S);
                FloatVector a2 = FloatVector.zero(S);
                FloatVector a3 = FloatVector.zero(S);
                for (int i = 0; i < ub; i += L) {
                    FloatVector xa = FloatVector.fromArray(S, x, x0 + i);
                    a0 = xa.fma(FloatVector.fromArray(S, w, w0 + i), a0);
                    a1 = xa.fma(FloatVector.fromArray(S, w, w1 + i), a1);
                    a2 = xa.fma(FloatVector.fromArray(S, w, w2 + i), a2);
                    a3 = xa.fma(FloatVector.fromArray(S, w, w3 + i), a3);
                }
                y[y0 + o] = finish(a0, x, x0, w, w0, ub, in, scratch);
                y[y0 + o + 1] = finish(a1, x, x0, w, w1, ub, in, scratch);
                y[y0 + o + 2] = finish(a2, x, x0, w, w2, ub, in, scratch);
                y[y0 + o + 3] = finish(a3, x, x0, w, w3, ub, in, scratch);
            }
            for (; o < to; o++) {
                y[y0 + o] = dot(x, x0, w, o * in, in, scratch);
            }
        }
    }

    @Override
    public void gemm(int m, int n, int k, float[] a, int ao, int lda, float[] b, int bo, int ldb, float[] c, int co,
            int ldc, boolean accumulate) {
        int nb = n - n % (2 * L);
        int mb = m - m % 4;
        // column strips outside, row strips inside: a strip of b (k x 2L) stays in L1 for all rows of a
        for (int j = 0; j < nb; j += 2 * L) {
            for (int i = 0; i < mb; i += 4) {
                gemmTile4(k, a, ao + i * lda, lda, b, bo + j, ldb, c, co + i * ldc + j, ldc, accumulate);
            }
        }
        for (int i = 0; i < mb; i++) {
            gemmScalarColumns(nb, n, k, a, ao + i * lda, b, bo, ldb, c, co + i * ldc, accumulate);
        }
        for (int i = mb; i < m; i++) {
            int a0 = ao + i * lda;
            int c0 = co + i * ldc;
            int j = 0;
            for (; j + L <= n; j += L) {
                FloatVector acc = accumulate ? FloatVector.fromArray(S, c, c0 + j) : FloatVector.zero(S);
                for (int p = 0; p < k; p++) {
                    acc = FloatVector.broadcast(S, a[a0 + p]).fma(FloatVector.fromArray(S, b, bo + p * ldb + j), acc);
                }
                acc.intoArray(c, c0 + j);
            }
            gemmScalarColumns(j, n, k, a, a0, b, bo, ldb, c, c0, accumulate);
        }
    }

    /** Four rows of c, 2L columns, accumulators held in registers over the whole k loop. */
    private static void gemmTile4(int k, float[] a, int a0, int lda, float[] b, int b0, int ldb, float[] c, int c0,
            int ldc, boolean accumulate) {
        FloatVector c00;
        FloatVector c01;
        FloatVector c10;
        FloatVector c11;
        FloatVector c20;
        FloatVector c21;
        FloatVector c30;
        FloatVector c31;
        if (accumulate) {
            c00 = FloatVector.fromArray(S, c, c0);
            c01 = FloatVector.fromArray(S, c, c0 + L);
            c10 = FloatVector.fromArray(S, c, c0 + ldc);
            c11 = FloatVector.fromArray(S, c, c0 + ldc + L);
            c20 = FloatVector.fromArray(S, c, c0 + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, c0 + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, c, c0 + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, c0 + 3 * ldc + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = FloatVector.zero(S);
        }
        for (int p = 0; p < k; p++) {
            int bp = b0 + p * ldb;
            FloatVector b0v = FloatVector.fromArray(S, b, bp);
            FloatVector b1v = FloatVector.fromArray(S, b, bp + L);
            FloatVector x0 = FloatVector.broadcast(S, a[a0 + p]);
            FloatVector x1 = FloatVector.broadcast(S, a[a0 + lda + p]);
            FloatVector x2 = FloatVector.broadcast(S, a[a0 + 2 * lda + p]);
            FloatVector x3 = FloatVector.broadcast(S, a[a0 + 3 * lda + p]);
            c00 = x0.fma(b0v, c00);
            c01 = x0.fma(b1v, c01);
            c10 = x1.fma(b0v, c10);
            c11 = x1.fma(b1v, c11);
            c20 = x2.fma(b0v, c20);
            c21 = x2.fma(b1v, c21);
            c30 = x3.fma(b0v, c30);
            c31 = x3.fma(b1v, c31);
        }
        c00.intoArray(c, c0);
        c01.intoArray(c, c0 + L);
        c10.intoArray(c, c0 + ldc);
        c11.intoArray(c, c0 + ldc + L);
        c20.intoArray(c, c0 + 2 * ldc);
        c21.intoArray(c, c0 + 2 * ldc + L);
        c30.intoArray(c, c0 + 3 * ldc);
        c31.intoArray(c, c0 + 3 * ldc + L);
    }

    private static void gemmScalarColumns(int from, int n, int k, float[] a, int a0, float[] b, int bo, int ldb,
            float[] c, int c0, boolean accumulate) {
        for (int j = from; j < n; j++) {
            float s = accumulate ? c[c0 + j] : 0f;
            for (int p = 0; p < k; p++) {
                s = Math.fma(a[a0 + p], b[bo + p * ldb + j], s);
            }
            c[c0 + j] = s;
        }
    }

    @Override
    public void gemvTransposed2(float[] s, int so, int ld, int rows, int width, float[] x1, int x1o, float[] x2,
            int x2o, float[] y1, float[] y2) {
        int c = 0;
        for (; c + 4 * L <= width; c += 4 * L) {
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = FloatVector.zero(S);
            FloatVector a2 = FloatVector.zero(S);
            FloatVector a3 = FloatVector.zero(S);
            FloatVector b0 = FloatVector.zero(S);
            FloatVector b1 = FloatVector.zero(S);
            FloatVector b2 = FloatVector.zero(S);
            FloatVector b3 = FloatVector.zero(S);
            for (int a = 0; a < rows; a++) {
                int base = so + a * ld + c;
                FloatVector p1 = FloatVector.broadcast(S, x1[x1o + a]);
                FloatVector p2 = FloatVector.broadcast(S, x2[x2o + a]);
                FloatVector s0 = FloatVector.fromArray(S, s, base);
                FloatVector s1 = FloatVector.fromArray(S, s, base + L);
                FloatVector s2 = FloatVector.fromArray(S, s, base + 2 * L);
                FloatVector s3 = FloatVector.fromArray(S, s, base + 3 * L);
                a0 = s0.fma(p1, a0);
                a1 = s1.fma(p1, a1);
                a2 = s2.fma(p1, a2);
                a3 = s3.fma(p1, a3);
                b0 = s0.fma(p2, b0);
                b1 = s1.fma(p2, b1);
                b2 = s2.fma(p2, b2);
                b3 = s3.fma(p2, b3);
            }
            a0.intoArray(y1, c);
            a1.intoArray(y1, c + L);
            a2.intoArray(y1, c + 2 * L);
            a3.intoArray(y1, c + 3 * L);
            b0.intoArray(y2, c);
            b1.intoArray(y2, c + L);
            b2.intoArray(y2, c + 2 * L);
            b3.intoArray(y2, c + 3 * L);
        }
        for (; c + L <= width; c += L) {
            FloatVector a0 = FloatVector.zero(S);
            FloatVector b0 = FloatVector.zero(S);
            for (int a = 0; a < rows; a++) {
                FloatVector s0 = FloatVector.fromArray(S, s, so + a * ld + c);
                a0 = s0.fma(FloatVector.broadcast(S, x1[x1o + a]), a0);
                b0 = s0.fma(FloatVector.broadcast(S, x2[x2o + a]), b0);
            }
            a0.intoArray(y1, c);
            b0.intoArray(y2, c);
        }
        for (; c < width; c++) {
            float t1 = 0f;
            float t2 = 0f;
            for (int a = 0; a < rows; a++) {
                float v = s[so + a * ld + c];
                t1 = Math.fma(v, x1[x1o + a], t1);
                t2 = Math.fma(v, x2[x2o + a], t2);
            }
            y1[c] = t1;
            y2[c] = t2;
        }
    }

    @Override
    public void rowDecayRank1(float[] s, int so, int ld, int rows, int width, float[] alphas, int ao, float[] x,
            int xo, float[] u) {
        int c = 0;
        for (; c + 4 * L <= width; c += 4 * L) {
            FloatVector u0 = FloatVector.fromArray(S, u, c);
            FloatVector u1 = FloatVector.fromArray(S, u, c + L);
            FloatVector u2 = FloatVector.fromArray(S, u, c + 2 * L);
            FloatVector u3 = FloatVector.fromArray(S, u, c + 3 * L);
            for (int a = 0; a < rows; a++) {
                int base = so + a * ld + c;
                FloatVector va = FloatVector.broadcast(S, alphas[ao + a]);
                FloatVector xa = FloatVector.broadcast(S, x[xo + a]);
                u0.fma(xa, FloatVector.fromArray(S, s, base).mul(va)).intoArray(s, base);
                u1.fma(xa, FloatVector.fromArray(S, s, base + L).mul(va)).intoArray(s, base + L);
                u2.fma(xa, FloatVector.fromArray(S, s, base + 2 * L).mul(va)).intoArray(s, base + 2 * L);
                u3.fma(xa, FloatVector.fromArray(S, s, base + 3 * L).mul(va)).intoArray(s, base + 3 * L);
            }
        }
        for (; c + L <= width; c += L) {
            FloatVector u0 = FloatVector.fromArray(S, u, c);
            for (int a = 0; a < rows; a++) {
                int base = so + a * ld + c;
                u0.fma(FloatVector.broadcast(S, x[xo + a]), FloatVector.fromArray(S, s, base)
                        .mul(FloatVector.broadcast(S, alphas[ao + a]))).intoArray(s, base);
            }
        }
        for (; c < width; c++) {
            for (int a = 0; a < rows; a++) {
                int i = so + a * ld + c;
                s[i] = Math.fma(u[c], x[xo + a], s[i] * alphas[ao + a]);
            }
        }
    }

    @Override
    public void decayRank1(float[] s, int so, int ld, int rows, int width, float alpha, float[] x, int xo,
            float[] u) {
        FloatVector va = FloatVector.broadcast(S, alpha);
        int c = 0;
        for (; c + 4 * L <= width; c += 4 * L) {
            FloatVector u0 = FloatVector.fromArray(S, u, c);
            FloatVector u1 = FloatVector.fromArray(S, u, c + L);
            FloatVector u2 = FloatVector.fromArray(S, u, c + 2 * L);
            FloatVector u3 = FloatVector.fromArray(S, u, c + 3 * L);
            for (int a = 0; a < rows; a++) {
                int base = so + a * ld + c;
                FloatVector xa = FloatVector.broadcast(S, x[xo + a]);
                u0.fma(xa, FloatVector.fromArray(S, s, base).mul(va)).intoArray(s, base);
                u1.fma(xa, FloatVector.fromArray(S, s, base + L).mul(va)).intoArray(s, base + L);
                u2.fma(xa, FloatVector.fromArray(S, s, base + 2 * L).mul(va)).intoArray(s, base + 2 * L);
                u3.fma(xa, FloatVector.fromArray(S, s, base + 3 * L).mul(va)).intoArray(s, base + 3 * L);
            }
        }
        for (; c + L <= width; c += L) {
            FloatVector u0 = FloatVector.fromArray(S, u, c);
            for (int a = 0; a < rows; a++) {
                int base = so + a * ld + c;
                u0.fma(FloatVector.broadcast(S, x[xo + a]), FloatVector.fromArray(S, s, base).mul(va))
                        .intoArray(s, base);
            }
        }
        for (; c < width; c++) {
            for (int a = 0; a < rows; a++) {
                int i = so + a * ld + c;
                s[i] = Math.fma(u[c], x[xo + a], s[i] * alpha);
            }
        }
    }

    // SiLU as x / (1 + exp(-x)) with an exp of float operations only (no Vector API EXP: its compiled form
    // and its interpreted fallback round differently, which would make a replay in a fresh JVM differ):
    // exp(y) = 2^n * p(r), n = round(y / ln 2), r = y - n ln 2 (ln 2 in two parts), p the Taylor polynomial
    // of degree 7 (|r| <= ln 2 / 2: truncation below 6e-9 relative); y clamped to [-87, 88] so that 2^n is
    // a normal float. Every lane, body or tail, takes the same float operations: the same bits anywhere.
    private static final float EXP_MIN = -87f;
    private static final float EXP_MAX = 88f;
    private static final float LOG2E = 1.44269504f;
    /** 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits. */
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
    private static final float LN2_HI = 0.693145752f;
    private static final float LN2_LO = 1.42860677e-6f;
    private static final float C2 = 1f / 2;
    private static final float C3 = 1f / 6;
    private static final float C4 = 1f / 24;
    private static final float C5 = 1f / 120;
    private static final float C6 = 1f / 720;
    private static final float C7 = 1f / 5040;

    /** {@code exp(y)} as the vector lanes compute it (NaN stays NaN). */
    static float exp(float y) {
        y = Math.min(Math.max(y, EXP_MIN), EXP_MAX);
        float t = Math.fma(y, LOG2E, ROUND);
        float n = t - ROUND;
        float r = Math.fma(n, -LN2_HI, y);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(C7, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat((Float.floatToRawIntBits(t) - ROUND_BITS + 127) << 23);
    }

    private static FloatVector exp(FloatVector y) {
        y = y.max(EXP_MIN).min(EXP_MAX);
        FloatVector t = y.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), y);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(C7, C6);
        p = p.fma(r, FloatVector.broadcast(S, C5));
        p = p.fma(r, FloatVector.broadcast(S, C4));
        p = p.fma(r, FloatVector.broadcast(S, C3));
        p = p.fma(r, FloatVector.broadcast(S, C2));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        IntVector bits = (IntVector) t.reinterpretAsInts();
        FloatVector scale = (FloatVector) bits.sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        return p.mul(scale);
    }

    /** {@code silu(x)} as the vector lanes compute it. */
    static float silu(float x) {
        return x / (1f + exp(-x));
    }

    private static FloatVector silu(FloatVector x) {
        return x.div(exp(x.neg()).add(1f));
    }

    @Override
    public void silu(float[] x, int off, int n) {
        int ub = S.loopBound(n);
        int i = 0;
        for (; i < ub; i += L) {
            silu(FloatVector.fromArray(S, x, off + i)).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] = silu(x[off + i]);
        }
    }

    @Override
    public void mulSilu(float[] x, int xo, float[] g, int go, int n) {
        int ub = S.loopBound(n);
        int i = 0;
        for (; i < ub; i += L) {
            FloatVector.fromArray(S, x, xo + i).mul(silu(FloatVector.fromArray(S, g, go + i))).intoArray(x, xo + i);
        }
        for (; i < n; i++) {
            x[xo + i] *= silu(g[go + i]);
        }
    }
}
