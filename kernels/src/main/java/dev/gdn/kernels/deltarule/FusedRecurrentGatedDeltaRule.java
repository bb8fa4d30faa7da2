package dev.gdn.kernels.deltarule;

import dev.gdn.kernels.cpu.Scratch;
import dev.gdn.kernels.cpu.VectorMath;

/**
 * The token-by-token gated delta rule, fused and blocked for the CPU: the form for one-token steps and
 * short runs.
 *
 * <p>Every column of S evolves on its own ({@code u[c]} needs only column c), so the state is walked
 * one block of columns at a time, all tokens of the run applied to a block while it sits in L1.
 * Per token and block: one pass reads the block to form {@code S^T k} and {@code S^T q} together,
 * then one pass writes {@code S = alpha S + k u^T}. The output uses
 * {@code o = S_new^T q = alpha S^T q + (k . q) u}, so the state is read once and written once per run,
 * whatever its length: the memory traffic floor of the decode step.
 */
public final class FusedRecurrentGatedDeltaRule implements GatedDeltaRule {
    private static final int L1_BLOCK_FLOATS = 8192;
    private static final Scratch.Slot QS = Scratch.slot("rule.qs");
    private static final Scratch.Slot KQ = Scratch.slot("rule.kq");
    private static final Scratch.Slot ALPHAS = Scratch.slot("rule.alphas");
    private static final Scratch.Slot SK = Scratch.slot("rule.sk");
    private static final Scratch.Slot SQ = Scratch.slot("rule.sq");
    private static final Scratch.Slot U = Scratch.slot("rule.u");

    private final VectorMath math;

    public FusedRecurrentGatedDeltaRule(VectorMath math) {
        this.math = math;
    }

    @Override
    public void forwardHead(DeltaRuleInputs in, int j, float[] state, int so, float[] out) {
        DeltaRuleShape s = in.shape();
        int kd = s.keyDim();
        int vd = s.valueDim();
        int h = s.keyHeadOf(j);
        int tokens = in.tokens();
        if (tokens == 0) {
            return;
        }
        float[] k = in.k();
        Scratch scratch = Scratch.ofThread();
        float[] qs = scratch.get(QS, tokens * kd);
        float[] kq = scratch.get(KQ, tokens);
        float[] alphas = scratch.get(ALPHAS, tokens);
        for (int t = 0; t < tokens; t++) {
            alphas[t] = (float) Math.exp(in.g()[in.gateOffset(t, j)]);
            int qo = in.qkOffset(t, h);
            for (int a = 0; a < kd; a++) {
                qs[t * kd + a] = in.q()[qo + a] * in.scale();
            }
            kq[t] = math.dot(k, qo, qs, t * kd, kd);
        }
        int block = Math.min(vd, Math.max(8, (L1_BLOCK_FLOATS / kd) & ~7));
        float[] sk = scratch.get(SK, block);
        float[] sq = scratch.get(SQ, block);
        float[] u = scratch.get(U, block);
        for (int c0 = 0; c0 < vd; c0 += block) {
            int w = Math.min(block, vd - c0);
            for (int t = 0; t < tokens; t++) {
                int ko = in.qkOffset(t, h);
                int go = in.gateOffset(t, j);
                float alpha = alphas[t];
                float beta = in.beta()[go];
                math.gemvTransposed2(state, so + c0, vd, kd, w, k, ko, qs, t * kd, sk, sq);
                int vo = in.vOffset(t, j) + c0;
                for (int c = 0; c < w; c++) {
                    float uc = beta * (in.v()[vo + c] - alpha * sk[c]);
                    u[c] = uc;
                    out[vo + c] = Math.fma(kq[t], uc, alpha * sq[c]);
                }
                math.decayRank1(state, so + c0, vd, kd, w, alpha, k, ko, u);
            }
        }
    }
}
