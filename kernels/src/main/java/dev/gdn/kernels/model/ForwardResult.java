package dev.gdn.kernels.model;

import java.util.Arrays;

/**
 * Outputs of a batched forward pass. Rows are the batch's tokens, stream after stream in batch order;
 * stream i owns rows {@code [offsets[i], offsets[i+1])}.
 *
 * @param offsets {@code [streams + 1]}
 * @param hidden  {@code [rows, D]}, the final normed hidden state of every token
 * @param logits  {@code [rows, vocab]}, or null when not requested
 * @param hiddenSize D
 * @param vocabSize  vocab
 */
public record ForwardResult(int[] offsets, float[] hidden, float[] logits, int hiddenSize, int vocabSize) {

    public int streams() {
        return offsets.length - 1;
    }

    /** Logits of stream i: {@code [T_i, vocab]}. */
    public float[] logitsOf(int stream) {
        return Arrays.copyOfRange(logits, offsets[stream] * vocabSize, offsets[stream + 1] * vocabSize);
    }

    /** Final hidden states of stream i: {@code [T_i, D]}. */
    public float[] hiddenOf(int stream) {
        return Arrays.copyOfRange(hidden, offsets[stream] * hiddenSize, offsets[stream + 1] * hiddenSize);
    }
}
