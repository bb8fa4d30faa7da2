package dev.gdn.kernels.layers.kda;

import dev.gdn.kernels.cpu.Scratch;
import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.deltarule.DeltaRuleShape;

/**
 * The Kimi delta rule over a run of tokens, one value head at a time. Per token, with state
 * {@code S: [K, V]} and a log-decay per key channel {@code g: [K]}:
 * <pre>
 *   S = diag(exp(g)) S             decay, row a by exp(g[a])
 *   u = beta * (v - S^T k)         delta against the decayed state
 *   S = S + k u^T                  rank-1 write
 *   o = S^T (scale * q)            read the updated state
 * </pre>
 * With the same decay in every channel it is the gated delta rule. {@link #reference} is the plain loop
 * in double precision, the oracle; {@link #forwardHead} the fp32 form for the CPU, checked against it.
 */
public final class KdaRule {
    private static final Scratch.Slot DECAY = Scratch.slot("kda.decay");
    private static final Scratch.Slot KA = Scratch.slot("kda.ka");
    private static final Scratch.Slot QA = Scratch.slot("kda.qa");
    private static final Scratch.Slot SK = Scratch.slot("kda.sk");
    private static final Scratch.Slot SQ = Scratch.slot("kda.sq");
    private static final Scratch.Slot U = Scratch.slot("kda.u");

    private final VectorMath math;

    public KdaRule(VectorMath math) {
        this.math = math;
    }

    /** Advances every value head; {@code state: [HV, K, V]} at {@code so}. */
    public void forward(KdaInputs in, float[] state, int so, float[] out) {
        DeltaRuleShape s = in.shape();
        for (int j = 0; j < s.valueHeads(); j++) {
            forwardHead(in, j, state, so + j * s.headStateSize(), out);
        }
    }

    /**
     * Advances value head {@code j} in fp32. With {@code a = exp(g)}: {@code (diag(a) S)^T k = S^T (a o k)},
     * so each token reads the state once for {@code S^T (a o k)} and {@code S^T (a o q)}, then writes
     * {@code S = diag(a) S + k u^T} row by row; the output is {@code S_new^T q = S^T (a o q) + (k . q) u}.
     *
     * @param state {@code [K, V]} at {@code so}: the initial state, overwritten with the final one
     */
    public void forwardHead(KdaInputs in, int j, float[] state, int so, float[] out) {
        DeltaRuleShape s = in.shape();
        int kd = s.keyDim();
        int vd = s.valueDim();
        int h = s.keyHeadOf(j);
        if (in.tokens() == 0) {
            return;
        }
        Scratch scratch = Scratch.ofThread();
        float[] a = scratch.get(DECAY, kd);
        float[] ka = scratch.get(KA, kd);
        float[] qa = scratch.get(QA, kd);
        float[] sk = scratch.get(SK, vd);
        float[] sq = scratch.get(SQ, vd);
        float[] u = scratch.get(U, vd);
        float[] k = in.k();
        for (int t = 0; t < in.tokens(); t++) {
            int qk = in.qkOffset(t, h);
            int go = in.decayOffset(t, j);
            float kq = 0;
            for (int c = 0; c < kd; c++) {
                a[c] = (float) Math.exp(in.g()[go + c]);
                float qs = in.q()[qk + c] * in.scale();
                ka[c] = a[c] * k[qk + c];
                qa[c] = a[c] * qs;
                kq = Math.fma(k[qk + c], qs, kq);
            }
            math.gemvTransposed2(state, so, vd, kd, vd, ka, 0, qa, 0, sk, sq);
            float beta = in.beta()[in.betaOffset(t, j)];
            int vo = in.vOffset(t, j);
            for (int c = 0; c < vd; c++) {
                u[c] = beta * (in.v()[vo + c] - sk[c]);
                out[vo + c] = Math.fma(kq, u[c], sq[c]);
            }
            math.rowDecayRank1(state, so, vd, kd, vd, a, 0, k, qk, u);
        }
    }

    /** The plain loop in double precision (the oracle; never optimise it). */
    public static void reference(KdaInputs in, int j, float[] state, int so, float[] out) {
        DeltaRuleShape s = in.shape();
        int kd = s.keyDim();
        int vd = s.valueDim();
        int h = s.keyHeadOf(j);
        double[] st = new double[kd * vd];
        for (int i = 0; i < st.length; i++) {
            st[i] = state[so + i];
        }
        double[] sk = new double[vd];
        for (int t = 0; t < in.tokens(); t++) {
            int qk = in.qkOffset(t, h);
            int vo = in.vOffset(t, j);
            int go = in.decayOffset(t, j);
            double beta = in.beta()[in.betaOffset(t, j)];
            for (int a = 0; a < kd; a++) {
                double alpha = Math.exp(in.g()[go + a]);
                for (int b = 0; b < vd; b++) {
                    st[a * vd + b] *= alpha;
                }
            }
            java.util.Arrays.fill(sk, 0);
            for (int a = 0; a < kd; a++) {
                double ka = in.k()[qk + a];
                for (int b = 0; b < vd; b++) {
                    sk[b] += st[a * vd + b] * ka;
                }
            }
            for (int b = 0; b < vd; b++) {
                sk[b] = beta * (in.v()[vo + b] - sk[b]);
            }
            for (int a = 0; a < kd; a++) {
                double ka = in.k()[qk + a];
                for (int b = 0; b < vd; b++) {
                    st[a * vd + b] += ka * sk[b];
                }
            }
            for (int b = 0; b < vd; b++) {
                double o = 0;
                for (int a = 0; a < kd; a++) {
                    o += st[a * vd + b] * ((double) in.q()[qk + a] * in.scale());
                }
                out[vo + b] = (float) o;
            }
        }
        for (int i = 0; i < st.length; i++) {
            state[so + i] = (float) st[i];
        }
    }
}
