package dev.gdn.kernels.layers;

import java.util.SplittableRandom;

/** Seeded random tensors, initialised like FLA: normal with std 0.02 (cheaply), unit norms. */
public final class RandomTensors {
    private final SplittableRandom r;

    public RandomTensors(SplittableRandom r) {
        this.r = r;
    }

    /** {@code n} near-normal values of std 0.02 (a sum of 4 uniforms). */
    public float[] normal(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            double s = r.nextDouble() + r.nextDouble() + r.nextDouble() + r.nextDouble() - 2.0;
            a[i] = (float) (s * 0.02 * Math.sqrt(3.0));
        }
        return a;
    }

    /** {@code n} ones (a norm's weight). */
    public float[] ones(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, 1f);
        return a;
    }

    /** A uniform double in [0, 1). */
    public double uniform() {
        return r.nextDouble();
    }
}
