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

    /** Releases the engine's device resources. */
    @Override
    void close();
}
