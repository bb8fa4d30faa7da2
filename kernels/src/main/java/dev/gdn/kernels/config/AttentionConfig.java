package dev.gdn.kernels.config;

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

    public boolean isAttentionLayer(int layer) {
        return layers.contains(layer);
    }
}
