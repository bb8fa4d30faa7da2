package dev.gdn.kernels.deltarule;

import dev.gdn.kernels.cpu.VectorMath;

/**
 * The chunkwise (WY / UT-transform) gated delta rule: a run of tokens becomes dense matrix products
 * over chunks of {@value #CHUNK} tokens, reading the state a fixed number of times per chunk instead
 * of per token. The derivation is in {@code CHUNKWISE.md} next to this file; the symbols below follow it.
 *
 * <p>All arithmetic is fp32 with fused multiply-adds except the in-chunk cumulative log-decay, which
 * is summed in double so that {@code exp(G_t - G_i)} keeps full precision after hard forgets.
 */
public final class ChunkedGatedDeltaRule implements GatedDeltaRule {
    /** Tokens per chunk. */
    public static final int CHUNK = 64;

    private final VectorMath math;

    public ChunkedGatedDeltaRule(VectorMath math) {
        this.math = math;
    }

    @Override
    public void forwardHead(DeltaRuleInputs in, int j, float[] state, int so, float[] out) {
        DeltaRuleShape s = in.shape();
        int kd = s.keyDim();
        int vd = s.valueDim();
        int h = s.keyHeadOf(j);
        Workspace ws = new Workspace(kd, vd);
        for (int t0 = 0; t0 < in.tokens(); t0 += CHUNK) {
            chunk(in, j, h, t0, Math.min(CHUNK, in.tokens() - t0), state, so, out, ws);
        }
    }

    private void chunk(DeltaRuleInputs in, int j, int h, int t0, int n, float[] state, int so, float[] out,
            Workspace ws) {
        DeltaRuleShape s = in.shape();
        int kd = s.keyDim();
        int vd = s.valueDim();
        final int c = CHUNK;
        float[] q = in.q();
        float[] k = in.k();
        double gsum = 0;
        for (int t = 0; t < n; t++) {
            int qo = in.qkOffset(t0 + t, h);
            System.arraycopy(k, qo, ws.kq, t * kd, kd);
            for (int a = 0; a < kd; a++) {
                ws.kq[(n + t) * kd + a] = q[qo + a] * in.scale();
            }
            gsum += in.g()[in.gateOffset(t0 + t, j)];
            ws.gcum[t] = gsum;
            ws.beta[t] = in.beta()[in.gateOffset(t0 + t, j)];
        }
        // [KS; QS] = [Kc; Qc] S  ([2n, V], one GEMM): the state is read here ...
        math.gemm(2 * n, vd, kd, ws.kq, 0, kd, state, so, vd, ws.ksqs, 0, vd, false);
        int qs = n * vd;
        // Kc Kc^T and Qc Kc^T ([n, n], row stride CHUNK)
        math.matmulTransposed(ws.kq, 0, n, kd, ws.kq, 0, n, ws.kk, 0, c);
        math.matmulTransposed(ws.kq, n * kd, n, kd, ws.kq, 0, n, ws.qk, 0, c);

        // U = (I + A)^-1 (diag(beta) V - diag(beta gamma) KS), by forward substitution (the UT transform)
        for (int t = 0; t < n; t++) {
            float gamma = (float) Math.exp(ws.gcum[t]);
            float b = ws.beta[t];
            int vo = in.vOffset(t0 + t, j);
            for (int x = 0; x < vd; x++) {
                ws.u[t * vd + x] = b * (in.v()[vo + x] - gamma * ws.ksqs[t * vd + x]);
            }
            for (int i = 0; i < t; i++) {
                float a = b * (float) Math.exp(ws.gcum[t] - ws.gcum[i]) * ws.kk[t * c + i];
                math.axpy(-a, ws.u, i * vd, ws.u, t * vd, vd);
            }
        }
        // O = diag(gamma) QS + (Gamma o Qc Kc^T) U, Gamma[t,i] = exp(G_t - G_i) for i <= t
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < n; i++) {
                ws.p[t * c + i] = i <= t ? (float) Math.exp(ws.gcum[t] - ws.gcum[i]) * ws.qk[t * c + i] : 0f;
            }
            math.scale((float) Math.exp(ws.gcum[t]), ws.ksqs, qs + t * vd, vd);
        }
        math.gemm(n, vd, n, ws.p, 0, c, ws.u, 0, vd, ws.ksqs, qs, vd, true);
        for (int t = 0; t < n; t++) {
            System.arraycopy(ws.ksqs, qs + t * vd, out, in.vOffset(t0 + t, j), vd);
        }
        // S = gamma_n S + sum_i exp(G_n - G_i) k_i u_i^T  ... and written here.
        double gn = ws.gcum[n - 1];
        for (int i = 0; i < n; i++) {
            float w = (float) Math.exp(gn - ws.gcum[i]);
            for (int a = 0; a < kd; a++) {
                ws.kwT[a * c + i] = w * ws.kq[i * kd + a];
            }
        }
        math.scale((float) Math.exp(gn), state, so, kd * vd);
        math.gemm(kd, vd, n, ws.kwT, 0, c, ws.u, 0, vd, state, so, vd, true);
    }

    /** Per-call scratch, sized for one chunk. */
    private static final class Workspace {
        /** [Kc; Qc]: [2 * CHUNK, K] */
        final float[] kq;
        /** [KS; QS]: [2 * CHUNK, V] */
        final float[] ksqs;
        final float[] u;
        final float[] kk = new float[CHUNK * CHUNK];
        final float[] qk = new float[CHUNK * CHUNK];
        final float[] p = new float[CHUNK * CHUNK];
        final float[] kwT;
        final double[] gcum = new double[CHUNK];
        final float[] beta = new float[CHUNK];

        Workspace(int kd, int vd) {
            kq = new float[2 * CHUNK * kd];
            ksqs = new float[2 * CHUNK * vd];
            u = new float[CHUNK * vd];
            kwT = new float[kd * CHUNK];
        }
    }
}
