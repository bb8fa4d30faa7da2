package dev.gdn.kernels.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Generation on the bundled recall model (SET = 1, GET = 2, k_i = 16 + i, v_i = 256 + i): the stream's
 * memory is bitwise unchanged, greedy is the argmax path, sampling is seeded, batching changes nothing.
 */
class GeneratorTest {
    static final GatedDeltaNetModel MODEL = GatedDeltaNetModel.load(Path.of("../models/recall").toAbsolutePath()
            .normalize(), CpuKernels.fast(2, CpuKernels.DEFAULT_CHUNK_THRESHOLD));
    static final int SET = 1;
    static final int GET = 2;

    static int k(int i) {
        return 16 + i;
    }

    static int v(int i) {
        return 256 + i;
    }

    /** A memory that was told k5 = v17, k9 = v3, k40 = v99, with its last hidden state kept. */
    static StreamMemory told() {
        StreamMemory m = MODEL.newMemory();
        int[] facts = {SET, k(5), v(17), SET, k(9), v(3), SET, k(40), v(99)};
        ForwardResult r = MODEL.forward(List.of(new StreamInput(m, facts)));
        float[] h = r.hiddenOf(0);
        m.setLastHidden(Arrays.copyOfRange(h, h.length - MODEL.config().hiddenSize(), h.length));
        return m;
    }

    @Test
    void askingRecallsTheFactAndLeavesTheStreamsMemoryBitwiseUnchanged() {
        StreamMemory m = told();
        StreamMemory before = m.copy();
        var r = new Generator(MODEL).generate(List.of(
                new Generator.Request(m, new int[] {GET, k(5)}, GenerationSettings.greedy(1)),
                new Generator.Request(m, new int[] {GET, k(40)}, GenerationSettings.greedy(1))));
        assertThat(r.get(0).ids()).containsExactly(v(17));
        assertThat(r.get(1).ids()).containsExactly(v(99));
        assertThat(r.get(0).stop()).isEqualTo("max_tokens");
        assertThat(m).isEqualTo(before);
        assertThat(m.tokensConsumed()).isEqualTo(9);
    }

    @Test
    void greedyGenerationIsTheArgmaxPathOfTheForwardPass() {
        StreamMemory m = told();
        int[] got = new Generator(MODEL).generate(List.of(new Generator.Request(m, new int[] {GET, k(9)},
                GenerationSettings.greedy(6)))).get(0).ids();
        StreamMemory fork = m.copy();
        int[] feed = {GET, k(9)};
        int[] want = new int[6];
        for (int i = 0; i < 6; i++) {
            float[] logits = MODEL.forward(List.of(new StreamInput(fork, feed))).logitsOf(0);
            int vocab = MODEL.config().vocabSize();
            int best = 0;
            for (int t = 1; t < vocab; t++) {
                if (logits[logits.length - vocab + t] > logits[logits.length - vocab + best]) {
                    best = t;
                }
            }
            want[i] = best;
            feed = new int[] {best};
        }
        assertThat(got).containsExactly(want);
        assertThat(got[0]).isEqualTo(v(3));
    }

    @Test
    void anEmptyPromptContinuesFromTheLastHiddenStateAsAPromptOfThoseTokensWould() {
        StreamMemory asked = told();
        ForwardResult r = MODEL.forward(List.of(new StreamInput(asked, new int[] {GET, k(40)})));
        float[] h = r.hiddenOf(0);
        asked.setLastHidden(Arrays.copyOfRange(h, h.length - MODEL.config().hiddenSize(), h.length));
        int[] empty = new Generator(MODEL).generate(List.of(new Generator.Request(asked, new int[0],
                GenerationSettings.greedy(3)))).get(0).ids();
        int[] prompted = new Generator(MODEL).generate(List.of(new Generator.Request(told(), new int[] {GET, k(40)},
                GenerationSettings.greedy(3)))).get(0).ids();
        assertThat(empty).containsExactly(prompted);
        assertThat(empty[0]).isEqualTo(v(99));
        StreamMemory fresh = MODEL.newMemory();
        assertThatThrownBy(() -> new Generator(MODEL).generate(List.of(new Generator.Request(fresh, new int[0],
                GenerationSettings.greedy(1))))).hasMessageContaining("the prompt is empty and the stream has seen no tokens");
    }

    @Test
    void seededSamplingRepeatsAndBatchingChangesNothing() {
        GenerationSettings hot = new GenerationSettings(12, 1.5, 0, 1, 42, List.of());
        GenerationSettings nucleus = new GenerationSettings(12, 0.8, 50, 0.9, 7, List.of());
        StreamMemory m = told();
        Generator g = new Generator(MODEL);
        int[] a = g.generate(List.of(new Generator.Request(m, new int[] {GET, k(5)}, hot))).get(0).ids();
        int[] b = g.generate(List.of(new Generator.Request(m, new int[] {GET, k(5)}, hot))).get(0).ids();
        assertThat(a).containsExactly(b);
        int[] c = g.generate(List.of(new Generator.Request(m, new int[] {GET, k(5)}, nucleus))).get(0).ids();
        // the same requests beside others, in one batch
        List<Generator.Request> batch = new ArrayList<>();
        batch.add(new Generator.Request(told(), new int[] {SET, k(1), v(1), GET, k(1)}, GenerationSettings.greedy(4)));
        batch.add(new Generator.Request(m, new int[] {GET, k(5)}, hot));
        batch.add(new Generator.Request(MODEL.newMemory(), new int[] {SET, k(2)}, GenerationSettings.greedy(9)));
        batch.add(new Generator.Request(m, new int[] {GET, k(5)}, nucleus));
        var r = g.generate(batch);
        assertThat(r.get(1).ids()).containsExactly(a);
        assertThat(r.get(3).ids()).containsExactly(c);
        assertThat(r.get(0).ids()[0]).isEqualTo(v(1));
        // top_k = 1 samples the greedy token whatever the seed
        GenerationSettings one = new GenerationSettings(5, 2.0, 1, 1, 99, List.of());
        assertThat(g.generate(List.of(new Generator.Request(m, new int[] {GET, k(9)}, one))).get(0).ids())
                .containsExactly(g.generate(List.of(new Generator.Request(m, new int[] {GET, k(9)},
                        GenerationSettings.greedy(5)))).get(0).ids());
    }

    @Test
    void aStopSequenceEndsTheGenerationAndBadSettingsAreNamed() {
        StreamMemory m = told();
        int[] free = new Generator(MODEL).generate(List.of(new Generator.Request(m, new int[] {GET, k(5)},
                GenerationSettings.greedy(8)))).get(0).ids();
        var stopped = new Generator(MODEL).generate(List.of(new Generator.Request(m, new int[] {GET, k(5)},
                new GenerationSettings(8, 0, 0, 1, 0, List.of(new int[] {free[1], free[2]}))))).get(0);
        assertThat(stopped.stop()).isEqualTo("stop");
        assertThat(stopped.ids()).containsExactly(Arrays.copyOf(free, 3));
        assertThatThrownBy(() -> GenerationSettings.greedy(0)).hasMessageContaining("max_tokens must be >= 1, got 0");
        assertThatThrownBy(() -> new GenerationSettings(1, -1, 0, 1, 0, null)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new GenerationSettings(1, 0, 0, 0, 0, null)).hasMessageContaining("top_p must be in (0, 1], got 0.0");
    }

    /** The bounded-heap top k equals a full sort by (descending logit, ascending id), ties and negatives included. */
    @Test
    void topKIsTheFullSortsPrefix() {
        java.util.Random r = new java.util.Random(8);
        for (int trial = 0; trial < 50; trial++) {
            float[] logits = new float[1 + r.nextInt(300)];
            for (int i = 0; i < logits.length; i++) {
                logits[i] = r.nextInt(4) == 0 ? (float) r.nextInt(3) - 1 : (float) r.nextGaussian() * 5;
            }
            Integer[] all = new Integer[logits.length];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            Arrays.sort(all, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
            int k = 1 + r.nextInt(logits.length);
            int[] want = new int[k];
            for (int i = 0; i < k; i++) {
                want[i] = all[i];
            }
            assertThat(Generator.topK(logits, k)).as("trial %d, k %d", trial, k).containsExactly(want);
        }
    }
}
