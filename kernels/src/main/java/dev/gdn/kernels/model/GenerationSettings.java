package dev.gdn.kernels.model;

import java.util.List;

/**
 * How one generation picks its tokens.
 *
 * @param maxTokens   tokens to generate at most ({@code >= 1})
 * @param temperature 0 for greedy (the most likely token, ties to the lowest id); else logits / temperature
 * @param topK        sample among the k most likely tokens only; 0 for all
 * @param topP        sample among the smallest set of most likely tokens whose probability reaches p
 *                    (nucleus); 1 for all
 * @param seed        the sampling seed: the same memory, prompt and settings generate the same tokens
 * @param stop        token sequences that end the generation when generated (the sequence is kept)
 */
public record GenerationSettings(int maxTokens, double temperature, int topK, double topP, long seed,
        List<int[]> stop) {

    /**
     * @throws IllegalArgumentException naming the parameter and the value when it is out of range
     */
    public GenerationSettings {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
        for (int[] s : stop) {
            if (s.length == 0) {
                throw new IllegalArgumentException("a stop sequence must not be empty");
            }
        }
    }

    /** Greedy decoding of at most {@code maxTokens} tokens, no stop sequences. */
    public static GenerationSettings greedy(int maxTokens) {
        return new GenerationSettings(maxTokens, 0, 0, 1, 0, List.of());
    }
}
