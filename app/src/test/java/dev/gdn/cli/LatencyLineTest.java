package dev.gdn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.run.LocalRun;
import org.junit.jupiter.api.Test;

/** The latency line of a paced run: the quantiles, or why there are none (never -1). */
class LatencyLineTest {
    @Test
    void aPacedRunTooShortForTheWarmUpSaysLatencyWasNotMeasured() {
        var o = new LocalRun.Outcome(null, 1.0, null, new long[0], 0, java.util.List.of());
        assertThat(RunCommand.latencyLine(o, 50, false, "2s", LocalRun.WARM_UP))
                .isEqualTo("latency: rate=50/s not measured: no event was sent 10 s or more after the first result "
                        + "(the warm-up); send more events (--events at least 1500 at this rate)");
        var measured = new LocalRun.Outcome(null, 1.0, null, new long[] {10, 20, 30}, 0, java.util.List.of());
        assertThat(RunCommand.latencyLine(measured, 50, true, "2s", LocalRun.WARM_UP))
                .startsWith("latency: rate=50/s p50_ms=20 p99_ms=30 max_ms=30 (send to at-least-once read");
        assertThat(RunCommand.latencyLine(o, 100, true, "2s", java.time.Duration.ofSeconds(40)))
                .contains("no event was sent 40 s or more").contains("--events at least 6000");
    }
}
