package dev.gdn.kernels.config;

import dev.gdn.kernels.layers.attention.AttentionConfig;
import dev.gdn.kernels.layers.mamba2.Mamba2Config;
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
 * @param mamba2            Mamba2 layers of an H2 hybrid, if any
 * @param labels            names of the classes of a classification head ({@code id2label}, in id order);
 *                          empty without one
 * @param kda               present for a {@code model_type: kda} checkpoint: its delta-rule layers are Kimi
 *                          Delta Attention (same shapes, a decay per key channel)
 */
public record ModelConfig(int vocabSize, int hiddenSize, int numHeads, int numValueHeads, int headDim,
        int headValueDim, int numLayers, int convSize, boolean useShortConv, boolean useGate, boolean allowNegEigval,
        float normEps, int intermediateSize, boolean tieWordEmbeddings, Optional<AttentionConfig> attention,
        Optional<Mamba2Config> mamba2, java.util.List<String> labels,
        Optional<dev.gdn.kernels.layers.kda.KdaConfig> kda) {

    /** Largest Java array: every weight matrix, state and activation row block must fit in one. */
    public static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    /**
     * Checks the sizes every part of the model derives from these fields, in exact arithmetic: no
     * product may overflow or exceed one Java array.
     *
     * @throws IllegalArgumentException naming the fields and the size they make
     */
    public ModelConfig {
        String[] names = {"vocab_size", "hidden_size", "num_heads", "num_v_heads", "head_dim", "head_dim * expand_v",
            "num_hidden_layers", "conv_size", "intermediate_size"};
        int[] values = {vocabSize, hiddenSize, numHeads, numValueHeads, headDim, headValueDim, numLayers, convSize,
            intermediateSize};
        for (int i = 0; i < names.length; i++) {
            if (values[i] < 1) {
                throw new IllegalArgumentException(names[i] + " must be >= 1, got " + values[i]);
            }
        }
        fits("num_heads (" + numHeads + ") x head_dim (" + headDim + ")", (long) numHeads * headDim);
        fits("num_v_heads (" + numValueHeads + ") x value head width (" + headValueDim + ")",
                (long) numValueHeads * headValueDim);
        fits("the delta-rule state num_v_heads x head_dim x value head width (" + numValueHeads + " x " + headDim
                + " x " + headValueDim + ")", (long) numValueHeads * headDim * headValueDim);
        fits("the embedding vocab_size x hidden_size (" + vocabSize + " x " + hiddenSize + ")",
                (long) vocabSize * hiddenSize);
        fits("the q/k projection hidden_size x num_heads x head_dim (" + hiddenSize + " x " + numHeads + " x " + headDim
                + ")", (long) hiddenSize * numHeads * headDim);
        fits("the v projection hidden_size x num_v_heads x value head width (" + hiddenSize + " x " + numValueHeads
                + " x " + headValueDim + ")", (long) hiddenSize * numValueHeads * headValueDim);
        fits("the MLP hidden_size x intermediate_size (" + hiddenSize + " x " + intermediateSize + ")",
                (long) hiddenSize * intermediateSize);
        fits("the short-convolution cache conv_size x num_v_heads x value head width (" + convSize + " x "
                + numValueHeads + " x " + headValueDim + ")", (long) convSize * numValueHeads * headValueDim);
        mamba2.ifPresent(m -> {
            fits("the Mamba2 in_proj hidden_size x (2 I + 2 G N + H) (" + hiddenSize + " x " + m.inProjRows() + ")",
                    (long) hiddenSize * m.inProjRows());
            fits("the Mamba2 state num_heads x head_dim x state_size (" + m.numHeads() + " x " + m.headDim() + " x "
                    + m.stateSize() + ")", (long) m.numHeads() * m.headDim() * m.stateSize());
        });
        attention.ifPresent(a -> {
            fits("an attention window window_size x num_kv_heads x head_dim (" + a.windowSize() + " x "
                    + a.numKvHeads() + " x " + a.headDim() + ")", (long) a.windowSize() * a.numKvHeads() * a.headDim());
            fits("the attention projection hidden_size x num_heads x head_dim (" + hiddenSize + " x " + a.numHeads()
                    + " x " + a.headDim() + ")", (long) hiddenSize * a.numHeads() * a.headDim());
        });
    }

    private static void fits(String what, long n) {
        if (n > MAX_ARRAY) {
            throw new IllegalArgumentException(what + " = " + n + " elements, more than one array holds (" + MAX_ARRAY
                    + "): not a model this runtime can load");
        }
    }

    /** A config without classification labels or Mamba2 layers. */
    public ModelConfig(int vocabSize, int hiddenSize, int numHeads, int numValueHeads, int headDim, int headValueDim,
            int numLayers, int convSize, boolean useShortConv, boolean useGate, boolean allowNegEigval, float normEps,
            int intermediateSize, boolean tieWordEmbeddings, Optional<AttentionConfig> attention) {
        this(vocabSize, hiddenSize, numHeads, numValueHeads, headDim, headValueDim, numLayers, convSize, useShortConv,
                useGate, allowNegEigval, normEps, intermediateSize, tieWordEmbeddings, attention, Optional.empty(),
                java.util.List.of(), Optional.empty());
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

    public boolean isMamba2Layer(int layer) {
        return mamba2.map(m -> m.isMamba2Layer(layer)).orElse(false);
    }

    /**
     * Whether layer {@code layer} is a delta-rule layer (Gated DeltaNet, or Kimi Delta Attention in a kda
     * model): neither attention nor Mamba2.
     */
    public boolean isDeltaNetLayer(int layer) {
        return !isAttentionLayer(layer) && !isMamba2Layer(layer);
    }

    /** Number of layers that are Gated DeltaNet layers. */
    public int deltaNetLayerCount() {
        int n = 0;
        for (int i = 0; i < numLayers; i++) {
            if (isDeltaNetLayer(i)) {
                n++;
            }
        }
        return n;
    }
}
