package dev.gdn.kernels.deltarule;

/**
 * The gated delta rule over a run of tokens, one value head at a time. Per token, with state
 * {@code S: [K, V]}:
 * <pre>
 *   S = exp(g) * S                 decay
 *   u = beta * (v - S^T k)         delta against the decayed state
 *   S = S + k u^T                  rank-1 write
 *   o = S^T (scale * q)            read the updated state
 * </pre>
 * Implementations differ in algorithm form only; each is checked against {@link RecurrentGatedDeltaRule}.
 */
public interface GatedDeltaRule {

    /**
     * Advances value head {@code valueHead} over all tokens of {@code in}.
     *
     * @param state  {@code [K, V]} at {@code stateOffset}: read as the initial state, overwritten with the final one
     * @param out    {@code o: [rows, HV, V]}: this head's columns of this sequence's rows are written
     */
    void forwardHead(DeltaRuleInputs in, int valueHead, float[] state, int stateOffset, float[] out);

    /** Advances every value head; {@code state: [HV, K, V]} at {@code stateOffset}. */
    default void forward(DeltaRuleInputs in, float[] state, int stateOffset, float[] out) {
        DeltaRuleShape s = in.shape();
        for (int j = 0; j < s.valueHeads(); j++) {
            forwardHead(in, j, state, stateOffset + j * s.headStateSize(), out);
        }
    }
}
