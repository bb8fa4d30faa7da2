package dev.gdn.operator;

import java.util.function.IntSupplier;

/**
 * An estimate of how many stream memories one operator holds on the heap, for {@link HeapBudget}: the
 * entries of its heap state, counted at most once a second (the count walks every entry), plus the new
 * streams admitted since that count and the host cache's slots. Counted on the operator's own thread
 * ({@link #refresh}); other operators of the JVM read the estimate.
 */
final class HeapEntries {
    private static final long RECOUNT_NANOS = 1_000_000_000L;

    private final IntSupplier stateEntries;
    private final IntSupplier hostSlots;
    private long countedAt = Long.MIN_VALUE;
    private volatile long counted;
    private volatile long addedSince;

    /**
     * @param stateEntries counts the entries of the heap state (on the operator's thread only)
     * @param hostSlots    memories held in host cache slots besides the state (0 when the slots are on a GPU)
     */
    HeapEntries(IntSupplier stateEntries, IntSupplier hostSlots) {
        this.stateEntries = stateEntries;
        this.hostSlots = hostSlots;
    }

    /** Recounts the state's entries when the last count is a second old or more. */
    void refresh() {
        long now = System.nanoTime();
        if (countedAt == Long.MIN_VALUE || now - countedAt >= RECOUNT_NANOS) {
            counted = stateEntries.getAsInt();
            addedSince = 0;
            countedAt = now;
        }
    }

    /** A new stream was admitted. */
    void added() {
        addedSince++;
    }

    /** Memories held now, as far as the last count and the admissions since tell. */
    long estimate() {
        return counted + addedSince + hostSlots.getAsInt();
    }
}
