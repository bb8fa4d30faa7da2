package dev.gdn.kernels.layers.kda;

import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.deltarule.DeltaRuleShape;

/**
 * The Kimi delta rule over a run of tokens in chunks of {@value #CHUNK}: the state is read and written a
 * fixed number of times per chunk instead of per token, the rest dense products. With {@code G_t} the
 * in-chunk cumulative log-decay per key channel (token t's own included) and {@code S0} the state at the
 * chunk's start:
 * <pre>
 *   u   = (I + A)^-1 diag(beta) (V - (K o e^G) S0),   A[t,i] = beta_t sum_c k_t[c] k_i[c] e^(G_t[c] - G_i[c])  (i &lt; t)
 *   o_t = (q_t o e^(G_t))^T S0 + sum_(i &lt;= t) P[t,i] u_i,   P[t,i] = sum_c q_t[c] k_i[c] e^(G_t[c] - G_i[c])
 *   S   = diag(e^(G_n)) S0 + sum_i (k_i o e^(G_n - G_i)) u_i^T
 * </pre>
 * ({@code q} scaled). The pairwise decays are {@code e^(G_t) e^(-G_i)}: A and P are products of
 * {@code K o e^G} (or {@code Q o e^G}) with {@code K o e^-G}, in fp32 where every channel's decay over the
 * chunk stays above {@value #FP32_LOG_DECAY} (both factors then normal floats), else formed in double; a
 * chunk whose decays leave double's range ({@code G} below {@value #MAX_LOG_DECAY}, after a hard forget)
 * runs token by token instead ({@link KdaRule}). The products with the state and the substitution are
 * fp32 with fused multiply-adds.
 */
public final class KdaChunkedRule {
    /** Tokens per chunk. */
    public static final int CHUNK = 64;
    /** The most negative in-chunk log-decay whose e^(-G) double holds with room for the products. */
    static final double MAX_LOG_DECAY = -600;
    /** The most negative in-chunk log-decay whose e^(G) and e^(-G) are both normal floats. */
    static final double FP32_LOG_DECAY = -80;

    /** How a chunk is computed, by how far its decays reach. */
    enum Form {
        /** Every channel's decay over the chunk above {@value #FP32_LOG_DECAY}: A and P in fp32. */
        FP32,
        /** Down to {@value #MAX_LOG_DECAY}: A and P formed in double. */
        FP64,
        /** Beyond: token by token. */
        TOKENS
    }

    private final VectorMath math;
    private final KdaRule tokenByToken;

    public KdaChunkedRule(VectorMath math) {
        this.math = math;
        this.tokenByToken = new KdaRule(math);
    }

    /**
     * Advances value head {@code j} over the run of {@code in}.
     *
     * @param state {@code [K, V]} at {@code so}: the initial state, overwritten with the final one
     */
    public void forwardHead(KdaInputs in, int j, float[] state, int so, float[] out) {
        DeltaRuleShape s = in.shape();
        Workspace ws = new Workspace(s.keyDim(), s.valueDim());
        for (int t0 = 0; t0 < in.tokens(); t0 += CHUNK) {
            int n = Math.min(CHUNK, in.tokens() - t0);
            if (!chunk(in, j, s.keyHeadOf(j), t0, n, state, so, out, ws)) {
                KdaInputs part = new KdaInputs(s, in.firstRow() + t0, n, in.q(), in.k(), in.v(), in.g(), in.beta(),
                        in.scale());
                tokenByToken.forwardHead(part, j, state, so, out);
            }
        }
    }

    /** One chunk; false (nothing written) when its decays leave double's range. */
    private boolean chunk(KdaInputs in, int j, int h, int t0, int n, float[] state, int so, float[] out, Workspace ws) {
        DeltaRuleShape s = in.shape();
        int kd = s.keyDim();
        int vd = s.valueDim();
        final int c = CHUNK;
        float[] q = in.q();
        float[] k = in.k();
        // G_t per channel (double), and whether e^(-G) stays in range
        for (int a = 0; a < kd; a++) {
            ws.run[a] = 0;
        }
        for (int t = 0; t < n; t++) {
            int go = in.decayOffset(t0 + t, j);
            for (int a = 0; a < kd; a++) {
                ws.run[a] += in.g()[go + a];
                ws.gcum[t * kd + a] = ws.run[a];
            }
        }
        Form form = form(ws.run, kd);
        if (form == Form.TOKENS) {
            return false;
        }
        boolean fp32 = form == Form.FP32;
        // k o e^G and q o e^G (fp32, for the products with S0), k o e^-G (fp32, or double with k o e^G and
        // q o e^G where the decays leave fp32's range): one exp per token and channel, as token by token
        for (int t = 0; t < n; t++) {
            int qo = in.qkOffset(t0 + t, h);
            for (int a = 0; a < kd; a++) {
                double up = Math.exp(ws.gcum[t * kd + a]);
                double down = 1 / up;
                double ka = k[qo + a];
                double qa = (double) q[qo + a] * in.scale();
                ws.kq[t * kd + a] = (float) (ka * up);
                ws.kq[(n + t) * kd + a] = (float) (qa * up);
                ws.kDownF[t * kd + a] = (float) (ka * down);
                if (!fp32) {
                    ws.kUp[t * kd + a] = ka * up;
                    ws.qUp[t * kd + a] = qa * up;
                    ws.kDown[t * kd + a] = ka * down;
                }
                if (t == n - 1) {
                    ws.lastUp[a] = up;
                }
            }
            ws.beta[t] = in.beta()[in.betaOffset(t0 + t, j)];
        }
        // [KS; QS] = [K o e^G; Q o e^G] S0: the state is read here ...
        math.gemm(2 * n, vd, kd, ws.kq, 0, kd, state, so, vd, ws.ksqs, 0, vd, false);
        int qs = n * vd;
        // (K o e^G)(K o e^-G)^T and (Q o e^G)(K o e^-G)^T ([n, n], row stride CHUNK)
        if (fp32) {
            math.matmulTransposed(ws.kq, 0, n, kd, ws.kDownF, 0, n, ws.kk, 0, c);
            math.matmulTransposed(ws.kq, n * kd, n, kd, ws.kDownF, 0, n, ws.p, 0, c);
        } else {
            for (int t = 0; t < n; t++) {
                for (int i = 0; i <= t; i++) {
                    ws.kk[t * c + i] = (float) dot(ws.kUp, t * kd, ws.kDown, i * kd, kd);
                    ws.p[t * c + i] = (float) dot(ws.qUp, t * kd, ws.kDown, i * kd, kd);
                }
            }
        }
        // u_t = beta_t (v_t - KS_t) - sum_(i<t) A[t,i] u_i (forward substitution)
        for (int t = 0; t < n; t++) {
            float b = ws.beta[t];
            int vo = in.vOffset(t0 + t, j);
            for (int x = 0; x < vd; x++) {
                ws.u[t * vd + x] = b * (in.v()[vo + x] - ws.ksqs[t * vd + x]);
            }
            for (int i = 0; i < t; i++) {
                math.axpy(-b * ws.kk[t * c + i], ws.u, i * vd, ws.u, t * vd, vd);
            }
        }
        // O = QS + P U, P lower triangular with its diagonal
        for (int t = 0; t < n; t++) {
            for (int i = t + 1; i < n; i++) {
                ws.p[t * c + i] = 0f;
            }
        }
        math.gemm(n, vd, n, ws.p, 0, c, ws.u, 0, vd, ws.ksqs, qs, vd, true);
        for (int t = 0; t < n; t++) {
            System.arraycopy(ws.ksqs, qs + t * vd, out, in.vOffset(t0 + t, j), vd);
        }
        // S = diag(e^(G_n)) S0 + sum_i (k_i o e^(G_n - G_i)) u_i^T ... and written here
        // (k_i o e^(G_n - G_i) = e^(G_n) (k_i o e^(-G_i)))
        for (int a = 0; a < kd; a++) {
            double un = ws.lastUp[a];
            for (int i = 0; i < n; i++) {
                ws.kwT[a * c + i] = (float) (un * (fp32 ? ws.kDownF[i * kd + a] : ws.kDown[i * kd + a]));
            }
            math.scale((float) un, state, so + a * vd, vd);
        }
        math.gemm(kd, vd, n, ws.kwT, 0, c, ws.u, 0, vd, state, so, vd, true);
        return true;
    }

    /** The form of a chunk whose channels' decays over it sum to {@code run[0..kd)}. */
    static Form form(double[] run, int kd) {
        Form f = Form.FP32;
        for (int a = 0; a < kd; a++) {
            if (!(run[a] >= MAX_LOG_DECAY)) {
                return Form.TOKENS;
            }
            if (run[a] < FP32_LOG_DECAY) {
                f = Form.FP64;
            }
        }
        return f;
    }

    /** The form chunk {@code [t0, t0 + n)} of value head {@code j} of {@code in} takes (for tests). */
    static Form formOf(KdaInputs in, int j, int t0, int n) {
        int kd = in.shape().keyDim();
        double[] run = new double[kd];
        for (int t = 0; t < n; t++) {
            int go = in.decayOffset(t0 + t, j);
            for (int a = 0; a < kd; a++) {
                run[a] += in.g()[go + a];
            }
        }
        return form(run, kd);
    }

    private static double dot(double[] x, int xo, double[] y, int yo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s = Math.fma(x[xo + i], y[yo + i], s);
        }
        return s;
    }

    /** Per-call scratch, sized for one chunk. */
    private static final class Workspace {
        final double[] run;
        final double[] lastUp;
        final double[] gcum;
        final double[] kUp;
        final double[] qUp;
        final double[] kDown;
        final float[] kDownF;
        /** [K o e^G; Q o e^G]: [2 * CHUNK, K] */
        final float[] kq;
        /** [KS; QS]: [2 * CHUNK, V] */
        final float[] ksqs;
        final float[] u;
        final float[] kk = new float[CHUNK * CHUNK];
        final float[] p = new float[CHUNK * CHUNK];
        final float[] kwT;
        final float[] beta = new float[CHUNK];

        Workspace(int kd, int vd) {
            run = new double[kd];
            lastUp = new double[kd];
            gcum = new double[CHUNK * kd];
            kUp = new double[CHUNK * kd];
            qUp = new double[CHUNK * kd];
            kDown = new double[CHUNK * kd];
            kDownF = new float[CHUNK * kd];
            kq = new float[2 * CHUNK * kd];
            ksqs = new float[2 * CHUNK * vd];
            u = new float[CHUNK * vd];
            kwT = new float[kd * CHUNK];
        }
    }
}
