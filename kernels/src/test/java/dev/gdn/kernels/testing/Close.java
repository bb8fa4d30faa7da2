package dev.gdn.kernels.testing;

import static org.assertj.core.api.Assertions.fail;

import dev.gdn.kernels.parity.RelativeError;

/** The one assertion for numeric parity: relative RMS error within a tolerance, explained on failure. */
public final class Close {
    private Close() {
    }

    public static RelativeError assertClose(String what, float[] actual, float[] reference, double tolerance) {
        RelativeError e = RelativeError.of(actual, reference);
        if (!e.within(tolerance)) {
            StringBuilder sb = new StringBuilder();
            sb.append(what).append(": ").append(e).append(" > tolerance ").append(tolerance).append("; first mismatches:");
            int shown = 0;
            for (int i = 0; i < actual.length && shown < 5; i++) {
                double d = Math.abs((double) actual[i] - reference[i]);
                if (!(d <= tolerance * Math.max(1e-3, Math.abs(reference[i])))) {
                    sb.append(String.format(" [%d] %s vs %s;", i, actual[i], reference[i]));
                    shown++;
                }
            }
            fail(sb.toString());
        }
        return e;
    }
}
