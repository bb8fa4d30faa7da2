package dev.gdn.operator;

import dev.gdn.kernels.model.GenerationSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What a {@code {"control": "generate"}} event asks for: a prompt run with the tokens it generates on a
 * copy of the stream's memory. A Flink POJO (public fields, no-arg constructor).
 */
public final class GenerateSpec {
    /** Prompt tokens (may be empty: the stream's last hidden state picks the first token). */
    public int[] prompt;
    public int maxTokens;
    public double temperature;
    public int topK;
    public double topP;
    public long seed;
    /** Stop sequences as token ids. */
    public int[][] stop;

    public GenerateSpec() {
    }

    public GenerateSpec(int[] prompt, int maxTokens, double temperature, int topK, double topP, long seed, int[][] stop) {
        this.prompt = prompt;
        this.maxTokens = maxTokens;
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.seed = seed;
        this.stop = stop;
    }

    /**
     * @throws IllegalArgumentException naming the parameter and the value when one is out of range
     */
    GenerationSettings settings() {
        List<int[]> s = new ArrayList<>();
        if (stop != null) {
            s.addAll(Arrays.asList(stop));
        }
        return new GenerationSettings(maxTokens, temperature, topK, topP, seed, s);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerateSpec g && Arrays.equals(prompt, g.prompt) && maxTokens == g.maxTokens
                && temperature == g.temperature && topK == g.topK && topP == g.topP && seed == g.seed
                && Arrays.deepEquals(stop, g.stop);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(prompt), maxTokens, temperature, topK, topP, seed, Arrays.deepHashCode(stop));
    }

    @Override
    public String toString() {
        return "generate " + Arrays.toString(prompt) + " max " + maxTokens;
    }
}
