package dev.gdn.operator;

import static dev.gdn.operator.GdnInferenceOperatorTest.JSON;
import static dev.gdn.operator.GdnInferenceOperatorTest.config;
import static dev.gdn.operator.GdnInferenceOperatorTest.harness;
import static dev.gdn.operator.GdnInferenceOperatorTest.op;
import static dev.gdn.operator.GdnInferenceOperatorTest.values;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.state.MemoryLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The operator's write-back memory cache against the same operator without it (every bundle reading
 * and writing keyed state): bitwise the same results through eviction from a cache of 3 slots with 50
 * streams, checkpoints and restores, resets and the idle TTL, on the hashmap and RocksDB backends.
 */
@Timeout(300)
class MemoryCacheOperatorTest {
    static final int STREAMS = Workloads.STREAMS;

    @org.junit.jupiter.api.io.TempDir
    static java.nio.file.Path checkpoints;

    @org.junit.jupiter.api.BeforeAll
    static void checkpointStorage() {
        GdnInferenceOperatorTest.checkpoints = checkpoints;
    }

    /** Events over 50 streams with a skew (a few hot streams), multi-token events and some resets. */
    static List<StreamEvent> workload(long seed, int n) {
        return Workloads.skewed(seed, n);
    }

    static Configuration withCache(int slots) throws Exception {
        Configuration c = config(8, 10_000, 60_000);
        var model = ModelCache.get(GdnInferenceOperatorTest.MODEL.toString(), 2);
        long perSlot = MemoryLayout.of(model.config()).floats() * 4;
        c.set(GdnOptions.CACHE_CAPACITY, new MemorySize(slots * perSlot));
        return c;
    }

    static Configuration withoutCache() {
        Configuration c = config(8, 10_000, 60_000);
        c.set(GdnOptions.CACHE_ENABLED, false);
        c.set(GdnOptions.LOG_TOKENS, 0); // the reference stores every memory as its floats
        return c;
    }

    /**
     * Runs the events, flushing every {@code flushEvery} events and taking a checkpoint (then restoring a
     * fresh operator from it) at {@code restoreAt} (-1: never).
     */
    static List<String> run(Configuration c, StateBackend backend, List<StreamEvent> events, int flushEvery,
            int restoreAt) throws Exception {
        List<String> out = new ArrayList<>();
        OperatorSubtaskState snap = null;
        int from = 0;
        if (restoreAt >= 0) {
            try (var h = harness(c, backend)) {
                h.open();
                feed(h, events.subList(0, restoreAt), flushEvery);
                h.prepareSnapshotPreBarrier(1);
                snap = h.snapshot(1, 1);
                out.addAll(values(h));
                assertThat(op(h).core().writeBacks()).as("dirty memories written back at the barrier").isPositive();
            }
            from = restoreAt;
        }
        try (var h = harness(c, backend)) {
            if (snap != null) {
                h.initializeState(snap);
            }
            h.open();
            assertThat(op(h).core().residentStreams()).as("a restored operator starts with an empty cache").isZero();
            feed(h, events.subList(from, events.size()), flushEvery);
            op(h).endInput();
            out.addAll(values(h));
            lastRebuilds = op(h).core().rebuilds();
        }
        return out;
    }

    /** Young streams the last {@link #run}'s (restored) operator rebuilt from their tokens. */
    static long lastRebuilds;

    static void feed(org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness<String, StreamEvent,
            StreamResult> h, List<StreamEvent> events, int flushEvery)
            throws Exception {
        for (int i = 0; i < events.size(); i++) {
            h.processElement(events.get(i), 0);
            if ((i + 1) % flushEvery == 0) {
                op(h).flush();
            }
        }
    }

    static List<String> sortedById(List<String> results) {
        return GdnInferenceOperatorTest.sortedById(results);
    }

    @Test
    void threeSlotsForFiftyStreamsGiveTheResultsOfNoCacheThroughEvictionsAndRestores() throws Exception {
        List<StreamEvent> events = workload(3, 400);
        for (StateBackend backend : new StateBackend[] {new HashMapStateBackend(), new EmbeddedRocksDBStateBackend(true)}) {
            List<String> plain = sortedById(run(withoutCache(), backend, events, 7, -1));
            assertThat(plain).hasSize(events.size());
            String name = backend.getClass().getSimpleName();
            assertThat(sortedById(run(withCache(3), backend, events, 7, -1))).as(name + ", 3 slots")
                    .containsExactlyElementsOf(plain);
            assertThat(sortedById(run(withCache(3), backend, events, 7, 211))).as(name + ", 3 slots, restored")
                    .containsExactlyElementsOf(plain);
            assertThat(lastRebuilds).as(name + ": young streams (gdn.state.log-tokens 16) came back from their "
                    + "tokens").isPositive();
            assertThat(sortedById(run(withCache(64), backend, events, 7, 150))).as(name + ", all resident, restored")
                    .containsExactlyElementsOf(plain);
        }
    }

    @Test
    void evictionWritesBackDirtyMemoriesAndCountsThem() throws Exception {
        List<StreamEvent> events = workload(5, 120);
        try (var h = harness(withCache(3), new HashMapStateBackend())) {
            h.open();
            feed(h, events, 5);
            op(h).flush();
            assertThat(op(h).core().residentStreams()).isEqualTo(3);
            assertThat(op(h).core().evictions()).isPositive();
            assertThat(op(h).core().writeBacks()).as("every eviction of a dirty stream wrote it back")
                    .isGreaterThanOrEqualTo(op(h).core().evictions() - 3);
        }
    }

    @Test
    void anIdleStreamIsForgottenAfterTheTtlWhetherCachedOrNot() throws Exception {
        for (boolean cached : new boolean[] {true, false}) {
            Configuration c = cached ? withCache(8) : withoutCache();
            c.set(GdnOptions.IDLE_TTL, Duration.ofSeconds(10));
            try (var h = harness(c, new HashMapStateBackend())) {
                h.open();
                h.setProcessingTime(1_000);
                h.setStateTtlProcessingTime(1_000);
                h.processElement(GdnInferenceOperatorTest.ev("s1", "a", 1, 2, 3), 0);
                op(h).flush();
                h.setProcessingTime(5_000);
                h.setStateTtlProcessingTime(5_000);
                h.processElement(GdnInferenceOperatorTest.ev("s1", "b", 4), 0);
                op(h).flush();
                h.setProcessingTime(16_000);
                h.setStateTtlProcessingTime(16_000);
                h.processElement(GdnInferenceOperatorTest.ev("s1", "c", 5), 0);
                op(h).flush();
                List<String> out = values(h);
                assertThat(JSON.readTree(out.get(1)).get("tokens_consumed").asInt()).as("cached=%s", cached).isEqualTo(4);
                assertThat(JSON.readTree(out.get(2)).get("tokens_consumed").asInt())
                        .as("cached=%s: forgotten after 11 s idle", cached).isEqualTo(1);
            }
        }
    }
}
