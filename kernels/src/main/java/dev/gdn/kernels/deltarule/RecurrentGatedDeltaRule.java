package dev.gdn.kernels.deltarule;

/**
 * The gated delta rule as the plain token-by-token loop, computed in double precision: the oracle
 * every faster form is checked against. Never optimise this class.
 */
public final class RecurrentGatedDeltaRule implements GatedDeltaRule {

    @Override
    public void forwardHead(DeltaRuleInputs in, int j, float[] state, int so, float[] out) {
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
            int go = in.gateOffset(t, j);
            double alpha = Math.exp(in.g()[go]);
            double beta = in.beta()[go];
            for (int i = 0; i < st.length; i++) {
                st[i] *= alpha;
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
