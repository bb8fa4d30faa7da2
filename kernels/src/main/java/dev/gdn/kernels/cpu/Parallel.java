package dev.gdn.kernels.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * Runs independent tasks {@code 0..n-1} on a fixed pool. Each task writes only its own outputs, so the
 * results do not depend on the number of threads or on scheduling: parallelism never changes bits.
 */
public final class Parallel implements AutoCloseable {
    private static final Parallel SEQUENTIAL = new Parallel(null, 1);

    private final ForkJoinPool pool;
    private final int threads;

    private Parallel(ForkJoinPool pool, int threads) {
        this.pool = pool;
        this.threads = threads;
    }

    /** Runs every task on the calling thread. */
    public static Parallel sequential() {
        return SEQUENTIAL;
    }

    /**
     * A pool of {@code threads} workers.
     *
     * @throws IllegalArgumentException when threads &lt; 1
     */
    public static Parallel of(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (threads == 1) {
            return SEQUENTIAL;
        }
        return new Parallel(new ForkJoinPool(threads), threads);
    }

    public int threads() {
        return threads;
    }

    /** Total work (in multiply-adds, roughly) below which handing tasks to the pool costs more than it saves. */
    public static final long MIN_PARALLEL_WORK = 1L << 18;

    /** Runs {@code body.accept(i)} for every i in [0, n) and returns when all are done. */
    public void forEach(int n, IntConsumer body) {
        forEach(n, Long.MAX_VALUE, body);
    }

    /**
     * As {@link #forEach(int, IntConsumer)}, on the calling thread when the whole job
     * ({@code n * workPerTask}) is too small to be worth the hand-off to other threads.
     */
    public void forEach(int n, long workPerTask, IntConsumer body) {
        boolean small = workPerTask < Long.MAX_VALUE / Math.max(1, n) && n * workPerTask < MIN_PARALLEL_WORK;
        if (pool == null || n <= 1 || small) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        pool.invoke(new Range(body, 0, n, Math.max(1, n / (threads * 4))));
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }

    private static final class Range extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final transient IntConsumer body;
        private final int from;
        private final int to;
        private final int grain;

        Range(IntConsumer body, int from, int to, int grain) {
            this.body = body;
            this.from = from;
            this.to = to;
            this.grain = grain;
        }

        @Override
        protected void compute() {
            if (to - from <= grain) {
                for (int i = from; i < to; i++) {
                    body.accept(i);
                }
                return;
            }
            int mid = (from + to) >>> 1;
            ForkJoinTask.invokeAll(new Range(body, from, mid, grain), new Range(body, mid, to, grain));
        }
    }
}
