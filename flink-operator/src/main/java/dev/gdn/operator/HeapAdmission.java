package dev.gdn.operator;

import java.util.Locale;

/**
 * On the hashmap state backend, whether a new stream's memory still fits in this JVM's share for stream
 * memories ({@code gdn.state.max-heap-fraction}, shared by every operator of the JVM through
 * {@link HeapBudget}). A stream that does not fit is refused (its events get an error result) rather
 * than the TaskManager running out of memory.
 */
final class HeapAdmission {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HeapAdmission.class);

    private final HeapEntries entries;
    private final long bytesPerStream;
    private final double fraction;
    private final long limit;
    private boolean fullLogged;
    private long refused;

    /**
     * @param entries        the operator's entries on the heap, counted at most once a second
     * @param bytesPerStream what one stream costs on the heap
     * @param fraction       {@code gdn.state.max-heap-fraction}
     */
    HeapAdmission(HeapEntries entries, long bytesPerStream, double fraction) {
        this.entries = entries;
        this.bytesPerStream = bytesPerStream;
        this.fraction = fraction;
        this.limit = HeapBudget.limit(fraction);
    }

    /** What this operator holds now, for {@link HeapBudget#register}. */
    long bytesHeld() {
        return entries.estimate() * bytesPerStream;
    }

    /** Null when a new stream fits (it is counted); else why not (a WARN line the first time). */
    String refuse() {
        entries.refresh();
        if (HeapBudget.fits(bytesPerStream, limit)) {
            entries.added();
            return null;
        }
        String why = String.format(Locale.ROOT, "no room for a new stream: %d stream memories of %.2f MiB fill the "
                + "%,d MiB that gdn.state.max-heap-fraction = %s allows of this JVM's %,d MiB heap on the hashmap state "
                + "backend; give the JVM more heap, use --state-backend rocksdb, or set gdn.state.idle-ttl to drop "
                + "idle streams", HeapBudget.held() / bytesPerStream, bytesPerStream / 1048576.0, limit >> 20,
                fraction, Runtime.getRuntime().maxMemory() >> 20);
        if (!fullLogged) {
            fullLogged = true;
            LOG.warn(why);
        }
        refused++;
        return why;
    }

    /** New streams refused so far. */
    long refused() {
        return refused;
    }
}
