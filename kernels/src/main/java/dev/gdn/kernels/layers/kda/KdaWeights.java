package dev.gdn.kernels.layers.kda;

import dev.gdn.kernels.layers.LayerKind;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MixerWeights;

/**
 * A Kimi Delta Attention mixer (FLA's {@code KimiDeltaAttention}). Shapes with H q/k heads, HV value heads,
 * K = head_dim, V = head_dim * expand_v, W = conv_size.
 *
 * @param qProj  {@code [H*K, D]}
 * @param kProj  {@code [H*K, D]}
 * @param vProj  {@code [HV*V, D]}
 * @param qConv  {@code [H*K, W]}, or null without short convolutions
 * @param kConv  {@code [H*K, W]}, or null
 * @param vConv  {@code [HV*V, W]}, or null
 * @param fDown  {@code [V, D]}: the decay's low-rank projection, first half ({@code f_proj.0})
 * @param fUp    {@code [HV*K, V]}: its second half ({@code f_proj.1}): one pre-gate per value head and key channel
 * @param bProj  {@code [HV, D]}
 * @param aLog   {@code [HV]}
 * @param dtBias {@code [HV*K]}
 * @param gDown  {@code [V, D]}: the output gate's low-rank projection ({@code g_proj.0})
 * @param gUp    {@code [HV*V, V]} ({@code g_proj.1})
 * @param gBias  {@code [HV*V]} ({@code g_proj.1.bias})
 * @param oNorm  {@code [V]}
 * @param oProj  {@code [D, HV*V]}
 */
public record KdaWeights(float[] qProj, float[] kProj, float[] vProj, float[] qConv, float[] kConv, float[] vConv,
        float[] fDown, float[] fUp, float[] bProj, float[] aLog, float[] dtBias, float[] gDown, float[] gUp,
        float[] gBias, float[] oNorm, float[] oProj) implements MixerWeights {
    @Override
    public LayerKind kind() {
        return LayerKinds.KDA;
    }
}
