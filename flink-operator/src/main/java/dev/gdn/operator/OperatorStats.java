package dev.gdn.operator;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * JVM-wide totals of every inference operator in this JVM, for benchmarks that run the job in a local
 * cluster and read them around a measured window (Flink's metrics say the same per operator).
 */
public final class OperatorStats {
    private static final LongAdder TOKENS = new LongAdder();
    private static final LongAdder RESULTS = new LongAdder();
    private static final LongAdder BARRIERS = new LongAdder();
    private static final LongAdder BARRIER_NANOS = new LongAdder();
    private static final AtomicLong BARRIER_MAX_NANOS = new AtomicLong();
    private static final LongAdder WRITE_BACKS = new LongAdder();
    private static final LongAdder WRITE_BACK_BYTES = new LongAdder();
    private static final LongAdder EVICTIONS = new LongAdder();
    private static final LongAdder BUNDLES = new LongAdder();
    private static final LongAdder COMPLETED = new LongAdder();
    private static final LongAdder COMPLETED_NANOS = new LongAdder();
    private static final AtomicLong COMPLETED_MAX_NANOS = new AtomicLong();
    private static final LongAdder FLUSH_NANOS = new LongAdder();
    private static final LongAdder ADVANCE_NANOS = new LongAdder();
    private static final LongAdder SCORE_NANOS = new LongAdder();
    private static final LongAdder EMIT_NANOS = new LongAdder();

    private OperatorStats() {
    }

    /** A copy of the totals now. */
    public record Snapshot(long tokens, long barriers, long barrierNanos, long barrierMaxNanos, long writeBacks,
            long writeBackBytes, long evictions, Phases phases, long checkpointsCompleted, long checkpointNanos,
            long checkpointMaxNanos) {
        /** What happened between {@code earlier} and this. */
        public Snapshot minus(Snapshot earlier) {
            return new Snapshot(tokens - earlier.tokens, barriers - earlier.barriers, barrierNanos - earlier.barrierNanos,
                    barrierMaxNanos, writeBacks - earlier.writeBacks, writeBackBytes - earlier.writeBackBytes,
                    evictions - earlier.evictions, phases.minus(earlier.phases),
                    checkpointsCompleted - earlier.checkpointsCompleted, checkpointNanos - earlier.checkpointNanos,
                    checkpointMaxNanos);
        }

        /**
         * Mean time from an operator's barrier (its write-back starting) to its being told the checkpoint
         * completed: the whole checkpoint as the operator sees it, upload included (NaN without any).
         */
        public double checkpointMeanMillis() {
            return checkpointsCompleted == 0 ? Double.NaN : checkpointNanos / 1e6 / checkpointsCompleted;
        }
    }

    /**
     * Where the operator's thread spent its bundles: the whole flush, and within it the engine's advance
     * with its scoring (the GPU pass and LM head, waited for), building the results (JSON) and emitting them.
     */
    public record Phases(long bundles, long flushNanos, long advanceNanos, long scoreNanos, long emitNanos) {
        Phases minus(Phases e) {
            return new Phases(bundles - e.bundles, flushNanos - e.flushNanos, advanceNanos - e.advanceNanos,
                    scoreNanos - e.scoreNanos, emitNanos - e.emitNanos);
        }
    }

    public static Snapshot snapshot() {
        return new Snapshot(TOKENS.sum(), BARRIERS.sum(), BARRIER_NANOS.sum(), BARRIER_MAX_NANOS.get(),
                WRITE_BACKS.sum(), WRITE_BACK_BYTES.sum(), EVICTIONS.sum(), new Phases(BUNDLES.sum(), FLUSH_NANOS.sum(),
                ADVANCE_NANOS.sum(), SCORE_NANOS.sum(), EMIT_NANOS.sum()), COMPLETED.sum(), COMPLETED_NANOS.sum(),
                COMPLETED_MAX_NANOS.get());
    }

    /** Results (one per event, and summaries) the operators of this JVM have emitted so far. */
    public static long results() {
        return RESULTS.sum();
    }

    /** Checkpoints completed so far, as the operators of this JVM were told. */
    public static long checkpointsCompleted() {
        return COMPLETED.sum();
    }

    /** Forgets the largest barrier wait and checkpoint duration seen so far (the start of a measured window). */
    public static void resetMax() {
        BARRIER_MAX_NANOS.set(0);
        COMPLETED_MAX_NANOS.set(0);
    }

    static void bundle(long tokens, long nanos) {
        TOKENS.add(tokens);
        BUNDLES.increment();
        FLUSH_NANOS.add(nanos);
    }

    /** Time a bundle's results took to come out after its flush (the GPU's pass finished later, in a mail). */
    static void finishing(long nanos) {
        FLUSH_NANOS.add(nanos);
    }

    static void advance(long nanos) {
        ADVANCE_NANOS.add(nanos);
    }

    static void score(long nanos) {
        SCORE_NANOS.add(nanos);
    }

    static void emit(long nanos, int results) {
        EMIT_NANOS.add(nanos);
        RESULTS.add(results);
    }

    static void eviction() {
        EVICTIONS.increment();
    }

    static void barrier(long nanos) {
        BARRIERS.increment();
        BARRIER_NANOS.add(nanos);
        BARRIER_MAX_NANOS.accumulateAndGet(nanos, Math::max);
    }

    /** @param nanos from the operator's barrier to the notification (0 when the operator saw no barrier) */
    static void checkpointCompleted(long nanos) {
        COMPLETED.increment();
        COMPLETED_NANOS.add(nanos);
        COMPLETED_MAX_NANOS.accumulateAndGet(nanos, Math::max);
    }

    static void writeBack(long bytes) {
        WRITE_BACKS.increment();
        WRITE_BACK_BYTES.add(bytes);
    }
}
