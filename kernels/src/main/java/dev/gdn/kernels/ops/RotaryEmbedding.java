package dev.gdn.kernels.ops;

/**
 * Rotary position embedding, half-split form: for i &lt; D/2, the pair {@code (x[i], x[i + D/2])} is
 * rotated by {@code position * theta^(-2i/D)}. Angles are computed in double.
 */
public final class RotaryEmbedding {
    private final int headDim;
    private final double[] invFreq;

    /**
     * @param headDim D, even
     * @param theta   base
     */
    public RotaryEmbedding(int headDim, double theta) {
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("headDim must be even, got " + headDim);
        }
        this.headDim = headDim;
        this.invFreq = new double[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            invFreq[i] = Math.pow(theta, -2.0 * i / headDim);
        }
    }

    /** A table of cos/sin for positions {@code [0, count)}: {@code [count, D/2]} each. */
    public float[][] table(int count) {
        int half = headDim / 2;
        float[] cos = new float[count * half];
        float[] sin = new float[count * half];
        for (int p = 0; p < count; p++) {
            for (int i = 0; i < half; i++) {
                double a = p * invFreq[i];
                cos[p * half + i] = (float) Math.cos(a);
                sin[p * half + i] = (float) Math.sin(a);
            }
        }
        return new float[][] {cos, sin};
    }

    /** Rotates {@code heads} consecutive heads of {@code x} at {@code off} by table row {@code pos}. */
    public void rotate(float[] x, int off, int heads, float[][] table, int pos) {
        int half = headDim / 2;
        float[] cos = table[0];
        float[] sin = table[1];
        for (int h = 0; h < heads; h++) {
            int b = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float x1 = x[b + i];
                float x2 = x[b + i + half];
                float c = cos[pos * half + i];
                float s = sin[pos * half + i];
                x[b + i] = x1 * c - x2 * s;
                x[b + i + half] = x2 * c + x1 * s;
            }
        }
    }

    /** Rotates one head at an absolute position, entirely in double (for exports and comparisons). */
    public void rotateAbsolute(float[] x, int off, long position) {
        int half = headDim / 2;
        for (int i = 0; i < half; i++) {
            double a = position * invFreq[i];
            double x1 = x[off + i];
            double x2 = x[off + i + half];
            x[off + i] = (float) (x1 * Math.cos(a) - x2 * Math.sin(a));
            x[off + i + half] = (float) (x2 * Math.cos(a) + x1 * Math.sin(a));
        }
    }
}
