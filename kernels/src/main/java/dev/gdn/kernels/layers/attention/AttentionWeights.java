package dev.gdn.kernels.layers.attention;

import dev.gdn.kernels.layers.MixerWeights;

/**
 * A sliding-window attention mixer with Hq query heads, Hkv kv heads of width Dh.
 *
 * @param qProj {@code [Hq*Dh, D]}
 * @param kProj {@code [Hkv*Dh, D]}
 * @param vProj {@code [Hkv*Dh, D]}
 * @param oProj {@code [D, Hq*Dh]}
 * @param qBias {@code [Hq*Dh]} or null
 * @param kBias {@code [Hkv*Dh]} or null
 * @param vBias {@code [Hkv*Dh]} or null
 */
public record AttentionWeights(float[] qProj, float[] kProj, float[] vProj, float[] oProj, float[] qBias,
        float[] kBias, float[] vBias) implements MixerWeights {
    @Override
    public dev.gdn.kernels.layers.LayerKind kind() {
        return dev.gdn.kernels.layers.LayerKinds.ATTENTION;
    }
}
