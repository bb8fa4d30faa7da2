package dev.gdn.kernels.model;

import dev.gdn.kernels.cpu.Parallel;
import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.deltarule.ChunkedGatedDeltaRule;
import dev.gdn.kernels.deltarule.FusedRecurrentGatedDeltaRule;
import dev.gdn.kernels.deltarule.GatedDeltaRule;
import dev.gdn.kernels.deltarule.RecurrentGatedDeltaRule;

/**
 * How the CPU computes a forward pass: the inner loops, the delta-rule form for short and long runs,
 * and the threads. The choice of form depends only on a stream's own run length, never on its batch.
 *
 * @param name           for logs: {@code reference} or {@code cpu}
 * @param math           inner loops
 * @param shortRuns      delta-rule form for runs shorter than {@code chunkThreshold}
 * @param longRuns       delta-rule form for runs of at least {@code chunkThreshold} tokens
 * @param chunkThreshold run length from which {@code longRuns} is used
 * @param chunkMinHeadState K * V from which {@code longRuns} is used at all
 * @param parallel       worker threads
 */
public record CpuKernels(String name, VectorMath math, GatedDeltaRule shortRuns, GatedDeltaRule longRuns,
        int chunkThreshold, int chunkMinHeadState, Parallel parallel) {

    /** Default run length from which the chunkwise form is used (see docs/BENCHMARKS.md). */
    public static final int DEFAULT_CHUNK_THRESHOLD = 64;

    /**
     * Per-head states smaller than this many floats (K * V) stay on the fused recurrent form at any run
     * length: their column blocks live in L1 and the recurrent form is faster there (docs/BENCHMARKS.md).
     */
    public static final int CHUNK_MIN_HEAD_STATE = 64 * 1024;

    /** Plain loops, the recurrent oracle in double, one thread: slow and exact. */
    public static CpuKernels reference() {
        GatedDeltaRule oracle = new RecurrentGatedDeltaRule();
        return new CpuKernels("reference", VectorMath.scalar(), oracle, oracle, Integer.MAX_VALUE, Integer.MAX_VALUE,
                Parallel.sequential());
    }

    /** SIMD when available, fused recurrent for short runs, chunkwise from {@code chunkThreshold}, threads. */
    public static CpuKernels fast(int threads, int chunkThreshold) {
        return fast(threads, chunkThreshold, CHUNK_MIN_HEAD_STATE);
    }

    /** As {@link #fast(int, int)}, choosing also from which head size the chunkwise form may be used. */
    public static CpuKernels fast(int threads, int chunkThreshold, int chunkMinHeadState) {
        VectorMath m = VectorMath.best();
        return new CpuKernels("cpu", m, new FusedRecurrentGatedDeltaRule(m), new ChunkedGatedDeltaRule(m),
                chunkThreshold, chunkMinHeadState, Parallel.of(threads));
    }

    /** {@link #fast(int, int)} with one thread per available processor and the default threshold. */
    public static CpuKernels fast() {
        return fast(Runtime.getRuntime().availableProcessors(), DEFAULT_CHUNK_THRESHOLD);
    }

    /** The form for a run of {@code tokens} on heads of {@code headStateFloats} = K * V: model constants and the stream's own length only. */
    public GatedDeltaRule ruleFor(int tokens, int headStateFloats) {
        return chunked(tokens, headStateFloats) ? longRuns : shortRuns;
    }

    /** Whether a run of {@code tokens} on heads of {@code headStateFloats} takes a chunked form (any layer type). */
    public boolean chunked(int tokens, int headStateFloats) {
        return tokens >= chunkThreshold && headStateFloats >= chunkMinHeadState;
    }
}
