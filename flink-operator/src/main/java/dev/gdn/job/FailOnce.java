package dev.gdn.job;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.functions.MapFunction;

/**
 * Fault injection for demonstrations and tests: throws once, after {@code after} events (valid or not) have passed
 * through all subtasks of this JVM, so the job restarts from its last checkpoint. Local runs only (the
 * counter is per JVM).
 */
public final class FailOnce implements MapFunction<RawEvent, RawEvent> {
    private static final long serialVersionUID = 1L;
    private static final AtomicLong SEEN = new AtomicLong();
    private static final AtomicBoolean FAILED = new AtomicBoolean();

    private final long after;

    public FailOnce(long after) {
        this.after = after;
    }

    /** Arms the injector for a new run in this JVM. */
    public static void arm() {
        SEEN.set(0);
        FAILED.set(false);
    }

    /** Whether the failure has happened. */
    public static boolean fired() {
        return FAILED.get();
    }

    @Override
    public RawEvent map(RawEvent e) {
        if (SEEN.incrementAndGet() > after && FAILED.compareAndSet(false, true)) {
            throw new IllegalStateException("injected failure after " + after + " events (gdn run --inject-failure-after)");
        }
        return e;
    }
}
