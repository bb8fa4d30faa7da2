package dev.gdn.kernels.config;

import dev.gdn.kernels.layers.LayerKind;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The hyper-parameters of a checkpoint that change the math: the shared ones (the delta-rule layers' shapes,
 * the MLP, the vocabulary) and, per layer kind that has one, the kind's own block (read by the kind,
 * {@link LayerKind#parseBlock}; asked for with {@link #block}). Built by {@link ModelConfigParser}; every
 * derived size is computed here once.
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
 * @param labels            names of the classes of a classification head ({@code id2label}, in id order);
 *                          empty without one
 * @param blocks            each layer kind's own block, for the kinds the config has one of (e.g. the
 *                          attention layers of a hybrid, or KDA's gate for {@code model_type: kda})
 */
public record ModelConfig(int vocabSize, int hiddenSize, int numHeads, int numValueHeads, int headDim,
        int headValueDim, int numLayers, int convSize, boolean useShortConv, boolean useGate, boolean allowNegEigval,
        float normEps, int intermediateSize, boolean tieWordEmbeddings, List<String> labels,
        Map<LayerKind, Object> blocks) {

    /** Largest Java array: every weight matrix, state and activation row block must fit in one. */
    public static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    /**
     * Checks the sizes every part of the model derives from these fields, in exact arithmetic: no
     * product may overflow or exceed one Java array.
     *
     * @throws IllegalArgumentException naming the fields and the size they make
     */
    public ModelConfig {
        labels = List.copyOf(labels);
        blocks = Map.copyOf(blocks);
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
    }

    /**
     * Checks that a size of {@code n} elements fits one Java array.
     *
     * @throws IllegalArgumentException naming {@code what} and the size
     */
    public static void fits(String what, long n) {
        if (n > MAX_ARRAY) {
            throw new IllegalArgumentException(what + " = " + n + " elements, more than one array holds (" + MAX_ARRAY
                    + "): not a model this runtime can load");
        }
    }

    /** A Gated DeltaNet config without classification labels or other kinds' layers. */
    public ModelConfig(int vocabSize, int hiddenSize, int numHeads, int numValueHeads, int headDim, int headValueDim,
            int numLayers, int convSize, boolean useShortConv, boolean useGate, boolean allowNegEigval, float normEps,
            int intermediateSize, boolean tieWordEmbeddings) {
        this(vocabSize, hiddenSize, numHeads, numValueHeads, headDim, headValueDim, numLayers, convSize, useShortConv,
                useGate, allowNegEigval, normEps, intermediateSize, tieWordEmbeddings, List.of(), Map.of());
    }

    /** Kind {@code kind}'s block, when this config has one. */
    public <T> Optional<T> block(LayerKind kind, Class<T> type) {
        Object b = blocks.get(kind);
        return b == null ? Optional.empty() : Optional.of(kind.cast(b, type));
    }

    /** This config with {@code block} as kind {@code kind}'s block. */
    public ModelConfig withBlock(LayerKind kind, Object block) {
        Map<LayerKind, Object> all = new java.util.HashMap<>(blocks);
        all.put(kind, block);
        return new ModelConfig(vocabSize, hiddenSize, numHeads, numValueHeads, headDim, headValueDim, numLayers,
                convSize, useShortConv, useGate, allowNegEigval, normEps, intermediateSize, tieWordEmbeddings, labels, all);
    }

    /** This config with classification labels {@code labels}. */
    public ModelConfig withLabels(List<String> labels) {
        return new ModelConfig(vocabSize, hiddenSize, numHeads, numValueHeads, headDim, headValueDim, numLayers,
                convSize, useShortConv, useGate, allowNegEigval, normEps, intermediateSize, tieWordEmbeddings, labels,
                blocks);
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
}
