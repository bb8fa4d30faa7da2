package dev.gdn.kernels.model;

import java.util.List;

/**
 * Computes a model's forward pass on other hardware than the JVM's CPU kernels (the GPU). The model
 * checks every input before calling in and counts the consumed tokens afterwards; the engine computes
 * and advances each stream's layer memories in place, exactly as the CPU path would.
 */
public interface ForwardEngine extends AutoCloseable {
    /** For logs, e.g. {@code cuda (sm_90, bf16 matmuls)}. */
    String name();

    /**
     * @param batch   streams with their memories (already checked against the model) and tokens
     * @param offsets {@code [streams + 1]} row offsets of the streams
     * @param logits  whether to compute the LM head
     * @return hidden states {@code [rows, D]} and logits {@code [rows, vocab]} (or null)
     */
    ForwardResult forward(List<StreamInput> batch, int[] offsets, boolean logits);

    /**
     * The LM head.
     *
     * @param x {@code [rows, D]} final normed hidden states
     * @return {@code [rows, vocab]}
     */
    float[] logits(float[] x, int rows);

    /**
     * Slots for stream memories kept on the engine's hardware between calls, or null when the engine
     * has no resident form (the model then keeps host copies).
     *
     * @param model    the model this engine computes (for the memories' shape and fingerprint)
     * @param capacity slots, &gt;= 1
     */
    default ResidentStreams residentStreams(GatedDeltaNetModel model, int capacity) {
        return null;
    }

    /**
     * Bytes the engine suggests for resident streams when the user sets none (a stated share of the
     * device memory free now), or 0 when it has no resident form.
     */
    default long residentBytesSuggested() {
        return 0;
    }

    /**
     * Scores rows of final hidden states where the LM head runs, so that only the scores travel back
     * (see {@link GatedDeltaNetModel#scoreRows}); null when the engine cannot (the model then scores
     * the downloaded logits on the CPU).
     */
    default RowScores scoreRows(float[] hidden, int from, int rows, int[] targets, boolean[] want, int k) {
        return null;
    }

    /** Releases the engine's device resources. */
    @Override
    void close();
}
