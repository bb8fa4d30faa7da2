package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.NoOpResidentStreams;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.state.StreamBinding;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The bundle core without Flink: over a no-op engine (what the core itself decides: order, caching,
 * write-back, TTL, resets, refusals) and over the real CPU engine (its results do not depend on how
 * events were bundled or how many slots the cache has).
 */
class BundleCoreTest {
    static final GatedDeltaNetModel MODEL = GenerationsTest.MODEL;
    static final ObjectMapper JSON = new ObjectMapper();

    private static BundleCore.Settings settings(long ttlMillis, boolean keepResident) {
        return new BundleCore.Settings(0, 0, null, ttlMillis, keepResident, 8, 0);
    }

    private static BundleCore core(ResidentStreams slots, BundleCore.Settings s, BundleCore.Store store, int topK) {
        return core(MODEL, slots, s, store, topK);
    }

    private static BundleCore core(GatedDeltaNetModel model, ResidentStreams slots, BundleCore.Settings s,
            BundleCore.Store store, int topK) {
        return new BundleCore(model, slots, new EventScorer(model, topK, false), null, s, store);
    }

    private static StreamEvent event(String stream, String id, int... tokens) {
        return new StreamEvent(stream, id, tokens, false);
    }

    /** One bundle of {@code events}, keyed by stream in arrival order. */
    static Map<String, List<StreamEvent>> bundle(List<StreamEvent> events) {
        Map<String, List<StreamEvent>> b = new LinkedHashMap<>();
        for (StreamEvent e : events) {
            b.computeIfAbsent(e.stream, k -> new ArrayList<>()).add(e);
        }
        return b;
    }

    private static List<StreamResult> run(BundleCore core, List<StreamEvent> events, long now) throws Exception {
        List<StreamResult> out = new ArrayList<>();
        core.run(bundle(events), now, out::add);
        return out;
    }

    private static long consumed(StreamResult r) throws IOException {
        return JSON.readTree(r.json()).get("tokens_consumed").asLong();
    }

    @Test
    void eachKeysResultsComeInItsEventOrderAndCountItsTokensAcrossResets() throws Exception {
        MapStore store = new MapStore();
        try (BundleCore core = core(NoOpResidentStreams.of(MODEL, 4), settings(0, true), store, 0)) {
            StreamEvent reset = new StreamEvent("a", "r", new int[0], true);
            List<StreamResult> out = run(core, List.of(event("a", "a1", 1, 2), event("b", "b1", 3), event("a", "a2", 4),
                    reset, event("a", "a3", 5, 6, 7)), 0);
            assertThat(out).extracting(r -> r.stream + "/" + JSON.readTree(r.json()).get("id").asText())
                    .containsExactly("a/a1", "a/a2", "a/r", "a/a3", "b/b1");
            assertThat(out).extracting(r -> r.kind).containsExactly(StreamResult.Kind.EVENT, StreamResult.Kind.EVENT,
                    StreamResult.Kind.RESET, StreamResult.Kind.EVENT, StreamResult.Kind.EVENT);
            assertThat(out.get(1).json()).contains("\"tokens_consumed\":3");
            assertThat(consumed(out.get(3))).as("counted afresh after the reset").isEqualTo(3);
            assertThat(core.resets()).isEqualTo(1);
            assertThat(store.memories).as("nothing written back while resident").isEmpty();
            core.writeBackDirty(false);
            assertThat(store.memories.get("a").tokensConsumed()).isEqualTo(3);
            assertThat(store.memories.get("b").tokensConsumed()).isEqualTo(1);
            assertThat(store.memories.get("a").streamDigest()).as("bound to its key")
                    .isEqualTo(StreamBinding.digest("a"));
        }
    }

    @Test
    void theLeastRecentlyUsedStreamIsWrittenBackToMakeRoomAndComesBackFromTheStore() throws Exception {
        MapStore store = new MapStore();
        try (BundleCore core = core(NoOpResidentStreams.of(MODEL, 2), settings(0, true), store, 0)) {
            run(core, List.of(event("a", "1", 1, 1), event("b", "1", 2)), 0);
            run(core, List.of(event("c", "1", 3, 3, 3)), 1);
            assertThat(store.writes).as("a was used least recently").containsExactly("a");
            assertThat(core.evictions()).isEqualTo(1);
            List<StreamResult> back = run(core, List.of(event("a", "2", 4)), 2);
            assertThat(consumed(back.get(0))).as("a continues from its stored memory").isEqualTo(3);
            assertThat(store.writes).containsExactly("a", "b");
        }
    }

    @Test
    void aBundleWithMoreStreamsThanSlotsRunsInGroupsAndAnswersEveryEvent() throws Exception {
        MapStore store = new MapStore();
        try (BundleCore core = core(NoOpResidentStreams.of(MODEL, 3), settings(0, true), store, 0)) {
            List<StreamEvent> events = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                events.add(event("s" + i, "e", 1, 2, 3));
            }
            List<StreamResult> out = run(core, events, 0);
            assertThat(out).hasSize(10).allSatisfy(r -> assertThat(consumed(r)).isEqualTo(3));
            assertThat(core.residentStreams()).isEqualTo(3);
            assertThat(store.memories).hasSize(7);
        }
    }

    @Test
    void aResidentStreamIdlePastItsTtlStartsAfreshAndItsStoredStateIsForgotten() throws Exception {
        MapStore store = new MapStore();
        try (BundleCore core = core(NoOpResidentStreams.of(MODEL, 4), settings(1_000, true), store, 0)) {
            run(core, List.of(event("a", "1", 1, 2)), 0);
            core.writeBackDirty(false);
            store.counts.put("a", 9L);
            assertThat(consumed(run(core, List.of(event("a", "2", 3)), 999).get(0))).isEqualTo(3);
            List<StreamResult> late = run(core, List.of(event("a", "3", 4)), 999 + 1_000);
            assertThat(consumed(late.get(0))).as("forgotten after 1 s idle").isEqualTo(1);
            assertThat(store.counts).doesNotContainKey("a");
        }
    }

    @Test
    void aNewStreamTheStoreRefusesGetsAnErrorForEachEventAndTakesNoSlot() throws Exception {
        MapStore store = new MapStore();
        store.refusal = "no room for a new stream: test";
        try (BundleCore core = core(NoOpResidentStreams.of(MODEL, 4), settings(0, true), store, 0)) {
            List<StreamResult> out = run(core, List.of(event("a", "1", 1), event("a", "2", 2)), 0);
            assertThat(out).extracting(r -> r.kind).containsExactly(StreamResult.Kind.ERROR, StreamResult.Kind.ERROR);
            assertThat(JSON.readTree(out.get(1).json()).get("error").asText()).isEqualTo("no room for a new stream: test");
            assertThat(core.residentStreams()).isZero();
        }
    }

    @Test
    void withoutTheCacheEveryMemoryGoesBackToTheStoreAfterEachBundle() throws Exception {
        MapStore store = new MapStore();
        try (BundleCore core = core(NoOpResidentStreams.of(MODEL, 4), settings(0, false), store, 0)) {
            run(core, List.of(event("a", "1", 1, 2), event("b", "1", 3)), 0);
            assertThat(core.residentStreams()).isZero();
            assertThat(store.memories.get("a").tokensConsumed()).isEqualTo(2);
            assertThat(consumed(run(core, List.of(event("a", "2", 5)), 1).get(0))).isEqualTo(3);
        }
    }

    /** The CPU engine the operator runs (SIMD, fused recurrent below the chunk threshold of 64 tokens). */
    static final GatedDeltaNetModel FAST = GatedDeltaNetModel.load(GdnInferenceOperatorTest.MODEL, CpuKernels.fast(2, 64));

    /**
     * On the operator's CPU engine: the same events in one bundle through a cache of 16 slots, or in
     * bundles of three events through a cache of 2 slots (so streams go to the store and come back), give
     * the same bytes, as long as each stream's run in a bundle stays below the chunk threshold (a run from
     * it on takes the chunkwise form, equal within the chunked tolerance, not bit for bit).
     */
    @Test
    void onTheCpuEngineResultsDoNotDependOnBundlesOrCacheSize() throws Exception {
        Random rnd = new Random(7);
        List<StreamEvent> events = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            int[] tokens = new int[1 + rnd.nextInt(5)];
            for (int t = 0; t < tokens.length; t++) {
                tokens[t] = rnd.nextInt(FAST.config().vocabSize());
            }
            events.add(event("s" + rnd.nextInt(6), "e" + i, tokens));
        }
        Map<String, List<String>> whole = new HashMap<>();
        try (BundleCore core = core(FAST, FAST.residentStreams(16), settings(0, true), new MapStore(), 3)) {
            for (StreamResult r : run(core, events, 0)) {
                whole.computeIfAbsent(r.stream, k -> new ArrayList<>()).add(r.json());
            }
        }
        Map<String, List<String>> split = new HashMap<>();
        try (BundleCore core = core(FAST, FAST.residentStreams(2), settings(0, true), new MapStore(), 3)) {
            for (int from = 0; from < events.size(); from += 3) {
                for (StreamResult r : run(core, events.subList(from, Math.min(events.size(), from + 3)), from)) {
                    split.computeIfAbsent(r.stream, k -> new ArrayList<>()).add(r.json());
                }
            }
            assertThat(core.evictions()).isPositive();
        }
        assertThat(split).isEqualTo(whole);
        JsonNode first = JSON.readTree(whole.values().iterator().next().get(0));
        assertThat(first.get("top_k")).hasSize(3);
    }

    private static BundleCore.Settings young(int tokens) {
        return new BundleCore.Settings(0, 0, null, 0, true, 8, tokens);
    }

    /**
     * Young streams (at most gdn.state.log-tokens since their start) go to the store as their tokens and
     * come back rebuilt: on the operator's CPU engine through a cache of 2 slots (streams evicted and loaded
     * again all the time; rebuilt in the pass of their next events, or alone before a reset) the results are
     * the bytes of a run that stores memories, and of one bundle through 16 slots; a stream past the limit
     * is stored as its memory and its log is dropped.
     */
    @Test
    void youngStreamsStoredAsTheirTokensAreRebuiltToTheSameBytes() throws Exception {
        Random rnd = new Random(11);
        List<StreamEvent> events = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            if (rnd.nextInt(12) == 0) {
                events.add(new StreamEvent("s" + rnd.nextInt(8), "r" + i, new int[0], true));
                continue;
            }
            int[] tokens = new int[1 + rnd.nextInt(4)];
            for (int t = 0; t < tokens.length; t++) {
                tokens[t] = rnd.nextInt(FAST.config().vocabSize());
            }
            events.add(event("s" + rnd.nextInt(8), "e" + i, tokens));
        }
        Map<String, List<String>> whole = new HashMap<>();
        try (BundleCore core = core(FAST, FAST.residentStreams(16), young(0), new MapStore(), 3)) {
            for (StreamResult r : run(core, events, 0)) {
                whole.computeIfAbsent(r.stream, k -> new ArrayList<>()).add(r.json());
            }
        }
        for (int limit : new int[] {0, 12}) {
            MapStore store = new MapStore();
            Map<String, List<String>> split = new HashMap<>();
            try (BundleCore core = core(FAST, FAST.residentStreams(2), young(limit), store, 3)) {
                for (int from = 0; from < events.size(); from += 3) {
                    for (StreamResult r : run(core, events.subList(from, Math.min(events.size(), from + 3)), from)) {
                        split.computeIfAbsent(r.stream, k -> new ArrayList<>()).add(r.json());
                    }
                }
                core.writeBackDirty(false);
                if (limit > 0) {
                    assertThat(core.rebuilds()).as("young streams loaded from their tokens").isPositive();
                    assertThat(core.logWrites()).isPositive();
                    assertThat(store.logs).as("young at the end").isNotEmpty();
                    assertThat(store.memories).as("past 12 tokens at the end").isNotEmpty();
                    store.logs.forEach((k, log) -> {
                        assertThat(log.tokens().length).isLessThanOrEqualTo(12);
                        assertThat(log.baseTokens()).as("the log continues the stored memory").isEqualTo(
                                store.memories.containsKey(k) ? store.memories.get(k).tokensConsumed() : 0);
                    });
                    assertThat(store.logs.keySet()).as("tails on stored memories").containsAnyElementsOf(
                            store.memories.keySet());
                } else {
                    assertThat(store.logs).isEmpty();
                    assertThat(core.rebuilds()).isZero();
                }
            }
            assertThat(split).as("young-tokens " + limit).isEqualTo(whole);
        }
    }

    /**
     * A stream's log holds exactly the tokens since its stored memory (or its start), in order: the memory is
     * written when they pass the limit, later tokens go on top of it as a new log; after a reset the log
     * starts from an empty memory, and the stored one goes.
     */
    @Test
    void aStreamIsKeptAsItsTokensSinceItsStoredMemoryUntilThosePassTheLimit() throws Exception {
        MapStore store = new MapStore();
        try (BundleCore core = core(NoOpResidentStreams.of(MODEL, 4), young(4), store, 0)) {
            run(core, List.of(event("a", "1", 7, 8), event("a", "2", 9)), 0);
            core.writeBackDirty(false);
            assertThat(store.logs.get("a").tokens()).containsExactly(7, 8, 9);
            assertThat(store.logs.get("a").baseTokens()).isZero();
            assertThat(store.memories).doesNotContainKey("a");
            run(core, List.of(event("a", "3", 10, 11)), 1);
            core.writeBackDirty(false);
            assertThat(store.memories.get("a").tokensConsumed()).isEqualTo(5);
            assertThat(store.logs).as("the log goes when the memory is written").doesNotContainKey("a");
            run(core, List.of(event("a", "4", 12), event("a", "5", 13, 14)), 2);
            core.writeBackDirty(false);
            assertThat(store.logs.get("a").tokens()).as("on top of the stored memory").containsExactly(12, 13, 14);
            assertThat(store.logs.get("a").baseTokens()).isEqualTo(5);
            assertThat(store.memories.get("a").tokensConsumed()).as("not written again").isEqualTo(5);
            run(core, List.of(new StreamEvent("a", "r", new int[0], true), event("a", "6", 15)), 3);
            core.writeBackDirty(false);
            assertThat(store.logs.get("a").tokens()).containsExactly(15);
            assertThat(store.logs.get("a").baseTokens()).isZero();
            assertThat(store.memories).as("the memory goes when a log from empty is written").doesNotContainKey("a");
        }
    }

    /** A log that does not continue the memory stored beside it (state put together by hand) is refused. */
    @Test
    void aLogThatDoesNotContinueTheStoredMemoryIsRefused() throws Exception {
        MapStore store = new MapStore();
        store.logs.put("a", new dev.gdn.state.TokenLogFormat.Log(7, new int[] {1, 2}));
        try (BundleCore core = core(NoOpResidentStreams.of(MODEL, 4), young(4), store, 0)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> run(core, List.of(event("a", "1", 3)), 0))
                    .isInstanceOf(dev.gdn.state.MemoryFormatException.class)
                    .hasMessageContaining("continues a memory of 7 tokens, but the memory stored for it has 0 (none)");
        }
    }

    /** The core and what it runs on import nothing of Flink: they can be used and tested without it. */
    @Test
    void theCoreIsFlinkFree() throws IOException {
        Path dir = Path.of("src/main/java/dev/gdn/operator");
        for (String file : List.of("BundleCore", "MemoryCache", "KeyWork", "Generations", "EventScorer", "StreamEvent",
                "StreamResult", "GenerateSpec", "HeapAdmission", "HeapEntries", "HeapBudget", "OperatorStats")) {
            assertThat(Files.readString(dir.resolve(file + ".java"))).as(file).doesNotContain("org.apache.flink");
        }
    }
}
