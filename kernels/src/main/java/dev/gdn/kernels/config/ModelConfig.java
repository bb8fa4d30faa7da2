package dev.gdn.kernels.config;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The hyper-parameters of a {@code gated_deltanet} checkpoint that change the math. Built by
 * {@link ModelConfigParser}; every derived size is computed here once.
 *
 * @param vocabSize         tokens in the vocabulary
 * @param hiddenSize        model width D
 * @param numHeads          q/k heads H of each Gated DeltaNet layer
 * @param numValueHeads     value heads HV (a multiple of H; HV &gt; H is grouped values)
 * @param headDim           K, width of one q/k head
 * @param headValueDim      V, width of one value head (head_dim * expand_v)
 * @param numLayers         blocks
 * @param convSize          short convolution kernel width
 * @param useShortConv      whether q, k, v pass through the short causal convolution
 * @param useGate           whether the output norm is gated by silu(g_proj(x))
 * @param allowNegEigval    beta in (0, 2) instead of (0, 1)
 * @param normEps           epsilon of every RMSNorm
 * @param intermediateSize  MLP width
 * @param tieWordEmbeddings LM head shares the embedding matrix
 * @param attention         sliding-window attention layers of a hybrid, if any
 * @param labels            names of the classes of a classification head ({@code id2label}, in id order);
 *                          empty without one
 */
public record ModelConfig(int vocabSize, int hiddenSize, int numHeads, int numValueHeads, int headDim,
        int headValueDim, int numLayers, int convSize, boolean useShortConv, boolean useGate, boolean allowNegEigval,
        float normEps, int intermediateSize, boolean tieWordEmbeddings, Optional<AttentionConfig> attention,
        java.util.List<String> labels) {

    /** A config without classification labels. */
    public ModelConfig(int vocabSize, int hiddenSize, int numHeads, int numValueHeads, int headDim, int headValueDim,
            int numLayers, int convSize, boolean useShortConv, boolean useGate, boolean allowNegEigval, float normEps,
            int intermediateSize, boolean tieWordEmbeddings, Optional<AttentionConfig> attention) {
        this(vocabSize, hiddenSize, numHeads, numValueHeads, headDim, headValueDim, numLayers, convSize, useShortConv,
                useGate, allowNegEigval, normEps, intermediateSize, tieWordEmbeddings, attention, java.util.List.of());
    }

    /** Reads {@code dir/config.json}. */
    public static ModelConfig load(Path dir) {
        return ModelConfigParser.parse(dir.resolve("config.json"));
    }

    /** q and k width of a Gated DeltaNet layer: H * K. */
    public int keyDim() {
        return numHeads * headDim;
    }

    /** v width of a Gated DeltaNet layer: HV * V. */
    public int valueDim() {
        return numValueHeads * headValueDim;
    }

    public boolean isAttentionLayer(int layer) {
        return attention.map(a -> a.isAttentionLayer(layer)).orElse(false);
    }

    /** Number of layers that are Gated DeltaNet layers. */
    public int deltaNetLayerCount() {
        int n = 0;
        for (int i = 0; i < numLayers; i++) {
            if (!isAttentionLayer(i)) {
                n++;
            }
        }
        return n;
    }
}
