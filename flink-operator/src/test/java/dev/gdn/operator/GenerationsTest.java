package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.Generator;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.StreamMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The generations of a bundle without Flink, on the real CPU engine: each runs on a fork of its stream's
 * resident memory (which stays as it was), gives the tokens a direct generation from that memory gives,
 * and a summary due by time is labelled as one.
 */
class GenerationsTest {
    static final GatedDeltaNetModel MODEL = GatedDeltaNetModel.load(GdnInferenceOperatorTest.MODEL, CpuKernels.reference());
    static final ObjectMapper JSON = new ObjectMapper();

    /** Two streams resident in slots 0 and 1, having read different tokens. */
    private ResidentStreams twoStreams() {
        ResidentStreams slots = MODEL.residentStreams(4);
        slots.load(0, MODEL.newMemory());
        slots.load(1, MODEL.newMemory());
        slots.advance(new int[] {0, 1}, new int[] {0, 3, 5}, new int[] {5, 6, 7, 8, 9});
        return slots;
    }

    private static KeyWork work(String key, int slot, long tokens) {
        MemoryCache.Entry e = new MemoryCache.Entry(key, slot);
        e.tokens = tokens;
        return new KeyWork(e, List.of());
    }

    private static GenerateSpec greedy(int max, int... prompt) {
        return new GenerateSpec(prompt, max, 0, 0, 1, 0, new int[0][]);
    }

    @Test
    void eachGenerationRunsOnAForkAndGivesTheTokensOfADirectGeneration() throws Exception {
        ResidentStreams slots = twoStreams();
        StreamMemory before0 = slots.store(0);
        StreamMemory before1 = slots.store(1);
        EventScorer scorer = new EventScorer(MODEL, 0, false, null);
        Generations g = new Generations(new Generator(MODEL), slots, scorer, null, 1, e -> false);
        List<KeyWork> keys = List.of(work("a", 0, 3), work("b", 1, 2));
        List<StreamEvent> events = new ArrayList<>(List.of(StreamEvent.generate("a", "g1", greedy(4, 11)),
                StreamEvent.generate("b", "g2", greedy(3, 12, 13))));
        g.generate(keys, events, StreamResult.Kind.GENERATE);

        // one at a time (max concurrent 1) and still both answered, each from its own stream's memory
        assertThat(g.generations()).isEqualTo(2);
        assertThat(g.generatedTokens()).isEqualTo(7);
        try (Generator direct = new Generator(MODEL)) {
            var expect = direct.generate(List.of(new Generator.Request(before0.copy(), new int[] {11},
                    greedy(4, 11).settings()), new Generator.Request(before1.copy(), new int[] {12, 13},
                    greedy(3, 12, 13).settings())));
            JsonNode a = JSON.readTree(keys.get(0).results.get(0).json());
            JsonNode b = JSON.readTree(keys.get(1).results.get(0).json());
            assertThat(a.get("control").asText()).isEqualTo("generate");
            assertThat(a.get("tokens_consumed").asLong()).isEqualTo(3);
            assertThat(ids(a)).containsExactly(expect.get(0).ids());
            assertThat(ids(b)).containsExactly(expect.get(1).ids());
        }
        assertThat(slots.store(0)).as("asking never changes the stream").isEqualTo(before0);
        assertThat(slots.store(1)).isEqualTo(before1);
        g.close();
    }

    @Test
    void anEmptyPromptOnAStreamThatSawNothingIsAnErrorAndAnIntervalSummaryIsLabelledAsOne() throws Exception {
        ResidentStreams slots = twoStreams();
        slots.load(2, MODEL.newMemory());
        EventScorer scorer = new EventScorer(MODEL, 0, false, null);
        StreamEvent timed = StreamEvent.generate("a", "due", greedy(2));
        Set<StreamEvent> intervalSummaries = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        intervalSummaries.add(timed);
        Generations g = new Generations(new Generator(MODEL), slots, scorer, null, 8, intervalSummaries::remove);
        List<KeyWork> keys = List.of(work("fresh", 2, 0), work("a", 0, 3));
        g.generate(keys, new ArrayList<>(List.of(StreamEvent.generate("fresh", "g0", greedy(2)), timed)), StreamResult.Kind.GENERATE);
        assertThat(JSON.readTree(keys.get(0).results.get(0).json()).get("error").asText())
                .isEqualTo("generate with an empty prompt needs a stream that has seen tokens: give a prompt");
        JsonNode summary = JSON.readTree(keys.get(1).results.get(0).json());
        assertThat(summary.get("control").asText()).isEqualTo("summary");
        assertThat(keys.get(1).results.get(0).kind).isEqualTo(StreamResult.Kind.SUMMARY);
        assertThat(keys.get(0).results.get(0).kind).isEqualTo(StreamResult.Kind.ERROR);
        assertThat(summary.get("id").asText()).isEqualTo("summary@3");
        assertThat(intervalSummaries).isEmpty();
        g.close();
    }

    private static int[] ids(JsonNode result) {
        JsonNode g = result.get("generated");
        int[] out = new int[g.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = g.get(i).asInt();
        }
        return out;
    }
}
