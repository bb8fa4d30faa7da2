package dev.gdn.kernels.parity;

import java.util.ArrayList;
import java.util.List;

/** The comparisons of one parity run, one line per tensor, and the verdict. */
public final class ParityReport {
    /** One compared tensor. */
    public record Line(String name, RelativeError error, double tolerance) {
        public boolean pass() {
            return error.within(tolerance);
        }

        @Override
        public String toString() {
            return String.format("%-44s rel_err=%.3e tol=%.0e %s  (worst [%d] %s vs %s)", name, error.value(),
                    tolerance, pass() ? "ok" : "FAIL", error.worstIndex(), error.worstValue(), error.worstRef());
        }
    }

    private final List<Line> lines = new ArrayList<>();

    public void add(String name, float[] x, float[] ref, double tolerance) {
        lines.add(new Line(name, RelativeError.of(x, ref), tolerance));
    }

    public List<Line> lines() {
        return List.copyOf(lines);
    }

    public boolean pass() {
        return !lines.isEmpty() && lines.stream().allMatch(Line::pass);
    }

    public double maxRelativeError() {
        return lines.stream().mapToDouble(l -> l.error().value()).max().orElse(Double.NaN);
    }

    /** The last line of every parity run: {@code parity: PASS max_rel_err=<x>} or FAIL. */
    public String verdict() {
        return String.format("parity: %s max_rel_err=%.3e", pass() ? "PASS" : "FAIL", maxRelativeError());
    }
}
