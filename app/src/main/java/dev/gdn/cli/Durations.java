package dev.gdn.cli;

import java.time.Duration;
import org.apache.flink.util.TimeUtils;

/** Durations as Flink writes them: {@code 20ms}, {@code 2s}, {@code 5min}. */
final class Durations {
    private Durations() {
    }

    static Duration parse(String s, String option) {
        try {
            return TimeUtils.parseDuration(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + " '" + s + "' is not a duration such as 20ms, 2s or 5min");
        }
    }
}
