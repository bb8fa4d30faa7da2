package dev.gdn.job;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The input offsets a job has passed on, per (topic, partition), and the check a restore makes against
 * them: the Kafka source's restored position must continue where the job's own record ends. A source
 * that restarts a partition before it (offsets in the snapshot rewound) would answer events twice and
 * advance their memories twice; one that starts after it (offsets moved forward) would skip events,
 * unless the offsets between hold no records that a read_committed reader sees (transaction markers,
 * aborted or compacted records), which {@link GapProbe} asks Kafka.
 *
 * <p>Flink-free: {@link OffsetGuard} keeps it in operator state and calls it for every record.
 */
public final class AnsweredOffsets {
    /** Asks Kafka for the first record a read_committed reader sees at or after an offset. */
    @FunctionalInterface
    public interface GapProbe {
        /**
         * The offset of the first record of {@code topic}-{@code partition} at or after {@code from} and
         * before {@code before}, if any.
         */
        OptionalLong firstRecord(String topic, int partition, long from, long before);
    }

    /** Thrown when the source's restored position disagrees with the job's record of it. */
    public static final class OffsetMismatchException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        OffsetMismatchException(String message) {
            super(message);
        }
    }

    private final Map<String, Long> restored;
    private final Map<String, Long> last = new HashMap<>();
    private final GapProbe probe;

    /**
     * @param restored the last offset passed on per {@link #key}, from the snapshot (empty on a fresh start)
     * @param probe    consulted when a partition resumes past the offset after its last one
     */
    public AnsweredOffsets(Map<String, Long> restored, GapProbe probe) {
        this.restored = new HashMap<>(restored);
        this.last.putAll(restored);
        this.probe = probe;
    }

    /** The key of a partition in the record: {@code topic-partition}, as Kafka writes it. */
    public static String key(String topic, int partition) {
        return topic + "-" + partition;
    }

    /**
     * Records that the record at {@code offset} is passed on; the first record of a partition after a
     * restore is checked against the snapshot's record of it.
     *
     * @throws OffsetMismatchException naming the partition and both offsets
     */
    public void pass(String topic, int partition, long offset) {
        String k = key(topic, partition);
        Long before = restored.remove(k);
        if (before != null) {
            check(topic, partition, offset, before);
        }
        last.put(k, offset);
    }

    private void check(String topic, int partition, long offset, long answered) {
        String where = "partition " + key(topic, partition);
        if (offset <= answered) {
            throw new OffsetMismatchException("the snapshot's Kafka source resumes " + where + " at offset " + offset
                    + ", but the job's own state records events up to offset " + answered + " as answered: the "
                    + "source offsets in the snapshot were changed (rewound), and resuming would answer events again "
                    + "and advance their memories twice. Restore an unaltered snapshot");
        }
        if (offset > answered + 1) {
            OptionalLong skipped = probe.firstRecord(topic, partition, answered + 1, offset);
            if (skipped.isPresent()) {
                throw new OffsetMismatchException("the snapshot's Kafka source resumes " + where + " at offset "
                        + offset + ", but the job's own state records events only up to offset " + answered
                        + " as answered, and the record at offset " + skipped.getAsLong() + " lies between: the "
                        + "source offsets in the snapshot were changed (moved forward), and resuming would skip "
                        + (offset - skipped.getAsLong()) + " or fewer events. Restore an unaltered snapshot");
            }
        }
    }

    /** The last offset passed on per partition, to snapshot (restored ones not seen since included). */
    public Map<String, Long> snapshot() {
        return Map.copyOf(last);
    }

    /** Merges the entries of every subtask's snapshot: the highest offset of each partition. */
    public static Map<String, Long> merge(Iterable<Map.Entry<String, Long>> entries) {
        Map<String, Long> m = new HashMap<>();
        for (Map.Entry<String, Long> e : entries) {
            m.merge(e.getKey(), e.getValue(), Math::max);
        }
        return m;
    }
}
