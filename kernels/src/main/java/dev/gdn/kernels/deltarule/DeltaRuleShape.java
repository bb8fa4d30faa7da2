package dev.gdn.kernels.deltarule;

/**
 * Head counts and widths of one gated delta rule layer.
 *
 * @param heads      H, q/k heads
 * @param valueHeads HV, value heads; value head j reads q/k head {@code j / (HV / H)}
 * @param keyDim     K, width of q and k per head
 * @param valueDim   V, width of v and o per head
 */
public record DeltaRuleShape(int heads, int valueHeads, int keyDim, int valueDim) {
    public DeltaRuleShape {
        if (heads < 1 || valueHeads < 1 || keyDim < 1 || valueDim < 1) {
            throw new IllegalArgumentException("heads, valueHeads, keyDim, valueDim must be >= 1, got "
                    + heads + ", " + valueHeads + ", " + keyDim + ", " + valueDim);
        }
        if (valueHeads % heads != 0) {
            throw new IllegalArgumentException("valueHeads " + valueHeads + " must be a multiple of heads " + heads);
        }
    }

    /** Floats in one head's state: K * V. */
    public int headStateSize() {
        return keyDim * valueDim;
    }

    /** Floats in one sequence's state: HV * K * V. */
    public int stateSize() {
        return valueHeads * keyDim * valueDim;
    }

    /** The q/k head that value head {@code valueHead} reads. */
    public int keyHeadOf(int valueHead) {
        return valueHead / (valueHeads / heads);
    }

    /** Floats per token row of q and k: H * K. */
    public int qkRowSize() {
        return heads * keyDim;
    }

    /** Floats per token row of v and o: HV * V. */
    public int vRowSize() {
        return valueHeads * valueDim;
    }

    @Override
    public String toString() {
        return "H" + heads + "-HV" + valueHeads + "-K" + keyDim + "-V" + valueDim;
    }
}
