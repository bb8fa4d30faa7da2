package dev.gdn.state;

import dev.gdn.kernels.model.ModelFingerprint;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts the stream memories started afresh because another model computed them
 * ({@link ModelChangePolicy#RESET}); the operator exposes the count as a metric.
 */
public final class MemoryResets {
    private static final Logger LOG = LoggerFactory.getLogger(MemoryResets.class);
    private static final AtomicLong COUNT = new AtomicLong();

    private MemoryResets() {
    }

    /** Records one reset and logs it with both fingerprints. */
    public static void record(ModelFingerprint found, ModelFingerprint expected) {
        long n = COUNT.incrementAndGet();
        LOG.warn("stream memory computed by model {} started afresh for model {} (reset #{} in this JVM)", found,
                expected, n);
    }

    /** Resets recorded in this JVM. */
    public static long count() {
        return COUNT.get();
    }
}
