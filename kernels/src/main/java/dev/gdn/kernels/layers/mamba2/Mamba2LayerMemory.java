package dev.gdn.kernels.layers.mamba2;

import dev.gdn.kernels.model.LayerMemory;
import java.util.Arrays;

/**
 * Memory of a Mamba2 layer for one stream.
 *
 * <ul>
 *   <li>{@code ssm: [H, P, N]}: the SSM state of every head (as FLA's cache stores it)</li>
 *   <li>{@code conv: [Kc - 1, I + 2 G N]}: the last Kc - 1 pre-convolution x, B, C inputs, oldest first
 *       (FLA keeps the last Kc, one more than the math needs)</li>
 * </ul>
 */
public final class Mamba2LayerMemory implements LayerMemory {
    private final float[] ssm;
    private final float[] conv;

    public Mamba2LayerMemory(float[] ssm, float[] conv) {
        this.ssm = ssm;
        this.conv = conv;
    }

    /** A zero memory: {@code ssmFloats = H P N}, {@code convFloats = (Kc - 1)(I + 2 G N)}. */
    public static Mamba2LayerMemory zeros(int ssmFloats, int convFloats) {
        return new Mamba2LayerMemory(new float[ssmFloats], new float[convFloats]);
    }

    public float[] ssm() {
        return ssm;
    }

    public float[] conv() {
        return conv;
    }

    @Override
    public dev.gdn.kernels.layers.LayerKind kind() {
        return dev.gdn.kernels.layers.LayerKinds.MAMBA2;
    }

    /** {@code [ssm, conv]}. */
    @Override
    public float[][] parts() {
        return new float[][] {ssm, conv};
    }

    @Override
    public Mamba2LayerMemory copy() {
        return new Mamba2LayerMemory(ssm.clone(), conv.clone());
    }

    @Override
    public void reset() {
        Arrays.fill(ssm, 0f);
        Arrays.fill(conv, 0f);
    }

    @Override
    public boolean isFinite() {
        return LayerMemory.finite(ssm, conv);
    }

    @Override
    public long payloadBytes() {
        return 4L * (ssm.length + conv.length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Mamba2LayerMemory m && Arrays.equals(ssm, m.ssm) && Arrays.equals(conv, m.conv);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(ssm) + Arrays.hashCode(conv);
    }
}
