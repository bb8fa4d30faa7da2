package dev.gdn.kernels.model;

/**
 * One stream's share of a batch: its memory (advanced in place) and its new tokens, in order.
 *
 * @param memory the stream's memory before these tokens; after the forward pass, after them
 * @param tokens {@code [T]}, T &gt;= 1, token ids in [0, vocab)
 */
public record StreamInput(StreamMemory memory, int[] tokens) {
}
