package dev.gdn.kernels.layers.mamba2;

import dev.gdn.kernels.layers.MixerWeights;

/**
 * A Mamba2 mixer (see {@link dev.gdn.kernels.layers.mamba2.Mamba2Config}: inner width I = H P, convolution
 * channels C = I + 2 G N).
 *
 * @param inProj   {@code [I + C + H, D]}: z, xBC, dt
 * @param conv     {@code [C, Kc]} (PyTorch's {@code [C, 1, Kc]})
 * @param convBias {@code [C]} or null
 * @param dtBias   {@code [H]}
 * @param aLog     {@code [H]}: A = -exp(A_log)
 * @param d        {@code [H]}: the skip connection D
 * @param norm     {@code [I]}: the gated group RMSNorm's weight
 * @param outProj  {@code [D, I]}
 */
public record Mamba2Weights(float[] inProj, float[] conv, float[] convBias, float[] dtBias, float[] aLog,
        float[] d, float[] norm, float[] outProj) implements MixerWeights {
    @Override
    public dev.gdn.kernels.layers.LayerKind kind() {
        return dev.gdn.kernels.layers.LayerKinds.MAMBA2;
    }
}
