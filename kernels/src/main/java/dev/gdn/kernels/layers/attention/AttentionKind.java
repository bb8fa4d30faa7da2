package dev.gdn.kernels.layers.attention;

import dev.gdn.kernels.config.AttentionConfig;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.LayerKind;
import dev.gdn.kernels.layers.MixerWeights;
import dev.gdn.kernels.layers.RandomTensors;
import dev.gdn.kernels.layers.WeightReader;
import dev.gdn.kernels.model.TokenMixer;
import java.util.Arrays;
import java.util.List;

/** Sliding-window softmax attention with RoPE: the layers config.json's {@code attn} block names. */
public final class AttentionKind implements LayerKind {

    @Override
    public String name() {
        return "attention";
    }

    @Override
    public boolean owns(ModelConfig c, int layer) {
        return c.attention().map(a -> a.isAttentionLayer(layer)).orElse(false);
    }

    @Override
    public MixerWeights load(WeightReader r, String p, ModelConfig c) {
        AttentionConfig a = c.attention().orElseThrow();
        int d = c.hiddenSize();
        int q = a.numHeads() * a.headDim();
        int kv = a.numKvHeads() * a.headDim();
        boolean bias = a.qkvBias();
        return new AttentionWeights(r.get(p + "q_proj.weight", q, d), r.get(p + "k_proj.weight", kv, d),
                r.get(p + "v_proj.weight", kv, d), r.get(p + "o_proj.weight", d, q),
                bias ? r.get(p + "q_proj.bias", q) : null, bias ? r.get(p + "k_proj.bias", kv) : null,
                bias ? r.get(p + "v_proj.bias", kv) : null);
    }

    @Override
    public MixerWeights random(ModelConfig c, RandomTensors r) {
        AttentionConfig a = c.attention().orElseThrow();
        int d = c.hiddenSize();
        int q = a.numHeads() * a.headDim();
        int kv = a.numKvHeads() * a.headDim();
        return new AttentionWeights(r.normal(q * d), r.normal(kv * d), r.normal(kv * d), r.normal(d * q), null, null,
                null);
    }

    @Override
    public List<float[]> tensors(MixerWeights mixer) {
        AttentionWeights a = weights(mixer, AttentionWeights.class);
        return Arrays.asList(a.qProj(), a.kProj(), a.vProj(), a.oProj(), a.qBias(), a.kBias(), a.vBias());
    }

    @Override
    public TokenMixer cpuMixer(ModelConfig c, MixerWeights w) {
        return new AttentionMixer(c.attention().orElseThrow(), weights(w, AttentionWeights.class), c.hiddenSize());
    }
}
