package dev.gdn.kernels.layers.attention;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gdn.kernels.config.ConfigException;
import dev.gdn.kernels.config.ConfigReader;
import java.util.Optional;
import java.util.Set;

/**
 * Sliding-window softmax attention layers of a hybrid model (the {@code attn} block of config.json).
 *
 * @param layers     indices of the layers that are attention layers; all others are Gated DeltaNet
 * @param numHeads   query heads
 * @param numKvHeads key/value heads (grouped: query head h uses kv head h / (numHeads / numKvHeads))
 * @param headDim    hidden_size / numHeads
 * @param windowSize keys attended per query, the current one included
 * @param ropeTheta  RoPE base
 * @param qkvBias    whether q, k and v projections carry a bias
 */
public record AttentionConfig(Set<Integer> layers, int numHeads, int numKvHeads, int headDim, int windowSize,
        double ropeTheta, boolean qkvBias) {

    /** The attention block of {@code c}, when its model has attention layers. */
    public static Optional<AttentionConfig> of(dev.gdn.kernels.config.ModelConfig c) {
        return c.block(dev.gdn.kernels.layers.LayerKinds.ATTENTION, AttentionConfig.class);
    }

    public boolean isAttentionLayer(int layer) {
        return layers.contains(layer);
    }

    private static final Set<String> KEYS = Set.of("layers", "num_heads", "num_kv_heads", "window_size",
            "rope_theta", "qkv_bias", "max_position_embeddings");

    /**
     * The {@code attn} block of a config.json (null or absent: none), checked: every key known, the layers in
     * {@code [0, layers)}, heads that divide {@code hidden} and each other, a window (full attention refused).
     */
    public static Optional<AttentionConfig> parse(JsonNode root, String source, int hidden, int layers) {
        ConfigReader r = ConfigReader.block(root, "attn", source, KEYS);
        if (r == null) {
            return Optional.empty();
        }
        Set<Integer> idx = r.layerIndices(layers);
        String where = r.where();
        JsonNode node = r.node();
        int heads = r.positiveInt("num_heads", 0);
        int kvHeads = node.hasNonNull("num_kv_heads") ? r.positiveInt("num_kv_heads", heads) : heads;
        if (hidden % heads != 0) {
            throw new ConfigException(where + ".num_heads " + heads + " must divide hidden_size " + hidden);
        }
        if (heads % kvHeads != 0) {
            throw new ConfigException(where + ".num_kv_heads " + kvHeads + " must divide num_heads " + heads);
        }
        if (!node.hasNonNull("window_size")) {
            throw new ConfigException(where + ".window_size is null: full attention needs the whole history, "
                    + "which an unbounded stream cannot keep; expected a sliding window");
        }
        int window = r.positiveInt("window_size", 0);
        int headDim = hidden / heads;
        if (headDim % 2 != 0) {
            throw new ConfigException(where + ": head dim " + headDim + " must be even for RoPE");
        }
        dev.gdn.kernels.config.ModelConfig.fits("an attention window window_size x num_kv_heads x head_dim (" + window
                + " x " + kvHeads + " x " + headDim + ")", (long) window * kvHeads * headDim);
        dev.gdn.kernels.config.ModelConfig.fits("the attention projection hidden_size x num_heads x head_dim (" + hidden
                + " x " + heads + " x " + headDim + ")", (long) hidden * heads * headDim);
        return Optional.of(new AttentionConfig(Set.copyOf(idx), heads, kvHeads, headDim, window,
                r.positiveDouble("rope_theta", 10000.0), r.bool("qkv_bias", false)));
    }
}
