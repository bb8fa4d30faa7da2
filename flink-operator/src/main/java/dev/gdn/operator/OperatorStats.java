package dev.gdn.operator;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * JVM-wide totals of every inference operator in this JVM, for benchmarks that run the job in a local
 * cluster and read them around a measured window (Flink's metrics say the same per operator).
 */
public final class OperatorStats {
    private static final LongAdder TOKENS = new LongAdder();
    private static final LongAdder BARRIERS = new LongAdder();
    private static final LongAdder BARRIER_NANOS = new LongAdder();
    private static final AtomicLong BARRIER_MAX_NANOS = new AtomicLong();
    private static final LongAdder WRITE_BACKS = new LongAdder();
    private static final LongAdder WRITE_BACK_BYTES = new LongAdder();
    private static final LongAdder EVICTIONS = new LongAdder();

    private OperatorStats() {
    }

    /** A copy of the totals now. */
    public record Snapshot(long tokens, long barriers, long barrierNanos, long barrierMaxNanos, long writeBacks,
            long writeBackBytes, long evictions) {
        /** What happened between {@code earlier} and this. */
        public Snapshot minus(Snapshot earlier) {
            return new Snapshot(tokens - earlier.tokens, barriers - earlier.barriers, barrierNanos - earlier.barrierNanos,
                    barrierMaxNanos, writeBacks - earlier.writeBacks, writeBackBytes - earlier.writeBackBytes,
                    evictions - earlier.evictions);
        }
    }

    public static Snapshot snapshot() {
        return new Snapshot(TOKENS.sum(), BARRIERS.sum(), BARRIER_NANOS.sum(), BARRIER_MAX_NANOS.get(),
                WRITE_BACKS.sum(), WRITE_BACK_BYTES.sum(), EVICTIONS.sum());
    }

    /** Forgets the largest barrier wait seen so far (the start of a measured window). */
    public static void resetMax() {
        BARRIER_MAX_NANOS.set(0);
    }

    static void bundle(long tokens) {
        TOKENS.add(tokens);
    }

    static void eviction() {
        EVICTIONS.increment();
    }

    static void barrier(long nanos) {
        BARRIERS.increment();
        BARRIER_NANOS.add(nanos);
        BARRIER_MAX_NANOS.accumulateAndGet(nanos, Math::max);
    }

    static void writeBack(long bytes) {
        WRITE_BACKS.increment();
        WRITE_BACK_BYTES.add(bytes);
    }
}
