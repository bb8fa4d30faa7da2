package dev.gdn.kernels.config;

import java.util.Set;

/**
 * Mamba2 layers of an H2 hybrid (the {@code mamba2} block of config.json).
 *
 * @param layers     indices of the layers whose mixer is Mamba2 (disjoint from the attention layers)
 * @param numHeads   H
 * @param headDim    P; H * P is the inner width I = expand * hidden_size
 * @param stateSize  N: the SSM state of a head is {@code [P, N]}
 * @param groups     G: B and C have G groups of N; head h reads group h / (H / G)
 * @param convKernel Kc, width of the depthwise causal convolution over the x, B, C channels
 * @param convBias   whether that convolution adds a bias
 * @param normEps    epsilon of the gated group RMSNorm
 */
public record Mamba2Config(Set<Integer> layers, int numHeads, int headDim, int stateSize, int groups, int convKernel,
        boolean convBias, float normEps) {

    public boolean isMamba2Layer(int layer) {
        return layers.contains(layer);
    }

    /** I = H * P. */
    public int innerDim() {
        return numHeads * headDim;
    }

    /** Channels of the convolution: x, B and C, I + 2 G N. */
    public int convDim() {
        return innerDim() + 2 * groups * stateSize;
    }

    /** Rows of in_proj: z, xBC, dt. */
    public int inProjRows() {
        return innerDim() + convDim() + numHeads;
    }

    /** Floats of one stream's SSM state: H P N. */
    public int stateFloats() {
        return numHeads * headDim * stateSize;
    }
}
