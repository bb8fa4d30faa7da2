package dev.gdn.kernels.parity;

/**
 * Relative RMS error {@code ||x - ref|| / max(||ref||, floor)} over a whole tensor: the one measure
 * used by every parity check and test. NaN or infinity anywhere makes the error infinite.
 *
 * @param value      the relative error
 * @param worstIndex flat index of the largest absolute difference (-1 for empty tensors)
 * @param worstValue x at that index
 * @param worstRef   ref at that index
 */
public record RelativeError(double value, int worstIndex, float worstValue, float worstRef) {
    /** Norm below which a reference counts as zero: the error is then absolute. */
    public static final double FLOOR = 1e-30;

    /**
     * @throws IllegalArgumentException when lengths differ
     */
    public static RelativeError of(float[] x, float[] ref) {
        if (x.length != ref.length) {
            throw new IllegalArgumentException("lengths differ: " + x.length + " vs reference " + ref.length);
        }
        double diff = 0;
        double norm = 0;
        double worst = -1;
        int wi = -1;
        boolean finite = true;
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i]) || !Float.isFinite(ref[i])) {
                finite = false;
                if (wi < 0 || Float.isFinite(x[wi])) {
                    wi = i;
                    worst = Double.POSITIVE_INFINITY;
                }
                continue;
            }
            double d = (double) x[i] - ref[i];
            diff += d * d;
            norm += (double) ref[i] * ref[i];
            if (Math.abs(d) > worst) {
                worst = Math.abs(d);
                wi = i;
            }
        }
        double value = finite ? Math.sqrt(diff) / Math.max(Math.sqrt(norm), FLOOR) : Double.POSITIVE_INFINITY;
        return new RelativeError(value, wi, wi < 0 ? 0f : x[wi], wi < 0 ? 0f : ref[wi]);
    }

    public boolean within(double tolerance) {
        return value <= tolerance;
    }

    @Override
    public String toString() {
        return String.format("rel_err=%.3e worst[%d]=%s vs %s", value, worstIndex, worstValue, worstRef);
    }
}
