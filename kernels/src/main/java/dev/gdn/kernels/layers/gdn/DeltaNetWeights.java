package dev.gdn.kernels.layers.gdn;

import dev.gdn.kernels.layers.MixerWeights;

/**
 * A Gated DeltaNet token mixer. Shapes with H heads, HV value heads, K = head_dim, V = head_v_dim, W = conv_size.
 *
 * @param qProj  {@code [H*K, D]}
 * @param kProj  {@code [H*K, D]}
 * @param vProj  {@code [HV*V, D]}
 * @param aProj  {@code [HV, D]}
 * @param bProj  {@code [HV, D]}
 * @param aLog   {@code [HV]}
 * @param dtBias {@code [HV]}
 * @param qConv  {@code [H*K, W]}, or null without short convolutions
 * @param kConv  {@code [H*K, W]}, or null
 * @param vConv  {@code [HV*V, W]}, or null
 * @param gProj  {@code [HV*V, D]}, or null without the output gate
 * @param oNorm  {@code [V]}
 * @param oProj  {@code [D, HV*V]}
 */
public record DeltaNetWeights(float[] qProj, float[] kProj, float[] vProj, float[] aProj, float[] bProj,
        float[] aLog, float[] dtBias, float[] qConv, float[] kConv, float[] vConv, float[] gProj, float[] oNorm,
        float[] oProj) implements MixerWeights {
    @Override
    public dev.gdn.kernels.layers.LayerKind kind() {
        return dev.gdn.kernels.layers.LayerKinds.GATED_DELTANET;
    }
}
