package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.SavepointType;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inference operator in Flink's operator harness, processing time driven explicitly: every flush
 * trigger, the timer, key isolation, batch invariance, resets, and snapshot/restore under hashmap and
 * RocksDB.
 */
@Timeout(300)
class GdnInferenceOperatorTest {
    static final Path MODEL = Path.of("../kernels/src/test/resources/fixtures/fla/models/gdn-tiny").toAbsolutePath()
            .normalize();
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path checkpoints;

    static final Path H2 = Path.of("../kernels/src/test/resources/fixtures/h2/models/h2-tiny").toAbsolutePath()
            .normalize();

    static Configuration config(int maxKeys, int maxTokens, long delayMs) {
        return config(MODEL, maxKeys, maxTokens, delayMs);
    }

    static Configuration config(Path model, int maxKeys, int maxTokens, long delayMs) {
        Configuration c = new Configuration();
        c.set(GdnOptions.MODEL_PATH, model.toString());
        c.set(GdnOptions.BATCH_MAX_KEYS, maxKeys);
        c.set(GdnOptions.BATCH_MAX_TOKENS, maxTokens);
        c.set(GdnOptions.BATCH_MAX_DELAY, Duration.ofMillis(delayMs));
        c.set(GdnOptions.CPU_THREADS, 2);
        return c;
    }

    static KeyedOneInputStreamOperatorTestHarness<String, StreamEvent, StreamResult> harness(Configuration c,
            StateBackend backend) throws Exception {
        return harness(c, backend, checkpoints);
    }

    /** The operator keyed by stream in a harness whose checkpoints go to {@code checkpointDir}. */
    static KeyedOneInputStreamOperatorTestHarness<String, StreamEvent, StreamResult> harness(Configuration c,
            StateBackend backend, Path checkpointDir) throws Exception {
        var h = new KeyedOneInputStreamOperatorTestHarness<>(new GdnInferenceOperator(c), (StreamEvent e) -> e.stream,
                Types.STRING);
        h.setStateBackend(backend);
        h.setCheckpointStorage(new FileSystemCheckpointStorage(checkpointDir.toUri()));
        return h;
    }

    static StreamEvent ev(String stream, String id, int... tokens) {
        return new StreamEvent(stream, id, tokens, false);
    }

    static List<String> values(KeyedOneInputStreamOperatorTestHarness<String, StreamEvent, StreamResult> h) {
        List<String> out = new ArrayList<>();
        for (StreamResult t : h.extractOutputValues()) {
            out.add(t.json());
        }
        return out;
    }

    static GdnInferenceOperator op(KeyedOneInputStreamOperatorTestHarness<String, StreamEvent, StreamResult> h) {
        return (GdnInferenceOperator) h.getOneInputOperator();
    }

    @Test
    void flushesWhenTheBundleHoldsMaxKeys() throws Exception {
        try (var h = harness(config(3, 10_000, 60_000), new HashMapStateBackend())) {
            h.open();
            h.processElement(ev("a", "1", 5, 6), 0);
            h.processElement(ev("b", "1", 7), 0);
            h.processElement(ev("a", "2", 8), 0);
            assertThat(h.extractOutputValues()).isEmpty();
            assertThat(op(h).pendingKeys()).isEqualTo(2);
            h.processElement(ev("c", "1", 9), 0);
            assertThat(h.extractOutputValues()).hasSize(4);
            assertThat(op(h).pendingKeys()).isZero();
        }
    }

    @Test
    void flushesWhenTheBundleHoldsMaxTokens() throws Exception {
        try (var h = harness(config(100, 6, 60_000), new HashMapStateBackend())) {
            h.open();
            h.processElement(ev("a", "1", 1, 2, 3), 0);
            h.processElement(ev("b", "1", 4, 5), 0);
            assertThat(h.extractOutputValues()).isEmpty();
            h.processElement(ev("a", "2", 6), 0);
            assertThat(h.extractOutputValues()).hasSize(3);
        }
    }

    @Test
    void flushesWhenTheOldestEventHasWaitedMaxDelay() throws Exception {
        try (var h = harness(config(100, 10_000, 20), new HashMapStateBackend())) {
            h.open();
            h.setProcessingTime(1_000);
            h.processElement(ev("a", "1", 1, 2), 0);
            h.setProcessingTime(1_010);
            h.processElement(ev("b", "1", 3), 0);
            h.setProcessingTime(1_019);
            assertThat(h.extractOutputValues()).isEmpty();
            h.setProcessingTime(1_020);
            assertThat(h.extractOutputValues()).hasSize(2);
            // a stale timer of a bundle flushed early does nothing; the next bundle gets its own
            h.processElement(ev("a", "2", 4), 0);
            h.setProcessingTime(1_039);
            assertThat(h.extractOutputValues()).hasSize(2);
            h.setProcessingTime(1_040);
            assertThat(h.extractOutputValues()).hasSize(3);
        }
    }

    @Test
    void flushesBeforeEveryCheckpointBarrierAndAtEndOfInput() throws Exception {
        try (var h = harness(config(100, 10_000, 60_000), new HashMapStateBackend())) {
            h.open();
            h.processElement(ev("a", "1", 1, 2), 0);
            h.prepareSnapshotPreBarrier(1);
            assertThat(h.extractOutputValues()).hasSize(1);
            h.processElement(ev("b", "1", 3), 0);
            op(h).endInput();
            assertThat(h.extractOutputValues()).hasSize(2);
        }
    }

    @Test
    void oneResultPerEventInOrderWithTheSurpriseOfEachEvent() throws Exception {
        try (var h = harness(config(100, 10_000, 60_000), new HashMapStateBackend())) {
            h.open();
            h.processElement(ev("a", "e1", 1, 2, 3), 0);
            h.processElement(ev("a", "e2", 4), 0);
            h.processElement(ev("a", "e3", 5, 6), 0);
            op(h).endInput();
            List<JsonNode> r = new ArrayList<>();
            for (String s : values(h)) {
                r.add(JSON.readTree(s));
            }
            assertThat(r).extracting(n -> n.get("id").asText()).containsExactly("e1", "e2", "e3");
            assertThat(r).extracting(n -> n.get("tokens_consumed").asLong()).containsExactly(3L, 4L, 6L);
            assertThat(r).allSatisfy(n -> assertThat(n.get("top_k")).hasSize(5));
            assertThat(r.get(0).get("nll").asDouble()).isPositive(); // tokens 2 and 3 have predictions
            assertThat(r.get(1).get("nll").asDouble()).isPositive();
        }
    }

    @Test
    void aStreamsResultsDoNotDependOnItsBundle() throws Exception {
        Random rnd = new Random(3);
        List<StreamEvent> aEvents = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            int[] t = new int[1 + rnd.nextInt(4)];
            for (int j = 0; j < t.length; j++) {
                t[j] = rnd.nextInt(384);
            }
            aEvents.add(ev("a", "a" + i, t));
        }
        List<String> alone;
        try (var h = harness(config(1, 10_000, 60_000), new HashMapStateBackend())) {
            h.open();
            for (StreamEvent e : aEvents) {
                h.processElement(e, 0);
            }
            op(h).endInput();
            alone = values(h);
        }
        List<String> crowded = new ArrayList<>();
        try (var h = harness(config(7, 10_000, 60_000), new HashMapStateBackend())) {
            h.open();
            for (int i = 0; i < aEvents.size(); i++) {
                h.processElement(aEvents.get(i), 0);
                for (int k = 0; k < i % 5; k++) {
                    h.processElement(ev("other-" + k, "x" + i, rnd.nextInt(384), rnd.nextInt(384)), 0);
                }
            }
            op(h).endInput();
            for (StreamResult t : h.extractOutputValues()) {
                if (t.stream.equals("a")) {
                    crowded.add(t.json());
                }
            }
        }
        // streams never leak into each other and the bytes are the same whatever shared the bundle
        assertThat(crowded).containsExactlyElementsOf(alone);
    }

    @Test
    void resetStartsTheStreamAfresh() throws Exception {
        try (var h = harness(config(100, 10_000, 60_000), new HashMapStateBackend())) {
            h.open();
            h.processElement(ev("a", "1", 10, 11, 12), 0);
            h.processElement(new StreamEvent("a", "r", new int[0], true), 0);
            h.processElement(ev("a", "2", 20, 21), 0);
            h.processElement(ev("b", "1", 20, 21), 0);
            op(h).endInput();
            List<StreamResult> out = h.extractOutputValues();
            JsonNode reset = JSON.readTree(out.get(1).json());
            assertThat(reset.get("control").asText()).isEqualTo("reset");
            assertThat(reset.get("tokens_consumed").asLong()).isZero();
            JsonNode a2 = JSON.readTree(out.get(2).json());
            JsonNode b1 = JSON.readTree(out.stream().filter(t -> t.stream.equals("b")).findFirst().orElseThrow().json());
            assertThat(a2.get("tokens_consumed").asLong()).isEqualTo(2);
            assertThat(a2.get("top_k")).isEqualTo(b1.get("top_k"));
            assertThat(a2.get("nll")).isEqualTo(b1.get("nll"));
        }
    }

    static List<StreamEvent> workload(long seed, int n) {
        return workload(seed, n, 384);
    }

    static List<StreamEvent> workload(long seed, int n, int vocab) {
        Random r = new Random(seed);
        List<StreamEvent> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] t = new int[1 + r.nextInt(3)];
            for (int j = 0; j < t.length; j++) {
                t[j] = r.nextInt(vocab);
            }
            events.add(ev("s" + r.nextInt(6), "e" + i, t));
        }
        return events;
    }

    List<String> runWithRestore(StateBackend first, StateBackend second, List<StreamEvent> events, int cut)
            throws Exception {
        return runWithRestore(MODEL, first, second, events, cut);
    }

    /** Every event through one operator on the heap backend, then end of input: the results in order. */
    static List<String> runUninterrupted(Path model, List<StreamEvent> events) throws Exception {
        try (var h = harness(config(model, 4, 10_000, 60_000), new HashMapStateBackend())) {
            h.open();
            for (StreamEvent e : events) {
                h.processElement(e, 0);
            }
            op(h).endInput();
            return values(h);
        }
    }

    List<String> runWithRestore(Path model, StateBackend first, StateBackend second, List<StreamEvent> events, int cut)
            throws Exception {
        List<String> out = new ArrayList<>();
        OperatorSubtaskState snap;
        try (var h = harness(config(model, 4, 10_000, 60_000), first)) {
            h.open();
            for (int i = 0; i < cut; i++) {
                h.processElement(events.get(i), 0);
            }
            // the flush before the barrier empties the buffer, so the snapshot holds memories only
            h.prepareSnapshotPreBarrier(1);
            snap = first.getClass() == second.getClass() ? h.snapshot(1, 1)
                    : h.snapshotWithLocalState(1, 1, SavepointType.savepoint(SavepointFormatType.CANONICAL))
                            .getJobManagerOwnedState();
            out.addAll(values(h));
        }
        try (var h = harness(config(model, 4, 10_000, 60_000), second)) {
            h.initializeState(snap);
            h.open();
            for (int i = cut; i < events.size(); i++) {
                h.processElement(events.get(i), 0);
            }
            op(h).endInput();
            out.addAll(values(h));
        }
        return out;
    }

    @Test
    void snapshotAndRestoreUnderHashmapAndRocksDbContinueExactly() throws Exception {
        List<StreamEvent> events = workload(7, 40);
        List<String> uninterrupted = runUninterrupted(MODEL, events);
        assertThat(uninterrupted).hasSize(events.size());
        for (StateBackend[] pair : new StateBackend[][] {
            {new HashMapStateBackend(), new HashMapStateBackend()},
            {new EmbeddedRocksDBStateBackend(true), new EmbeddedRocksDBStateBackend(true)},
            {new EmbeddedRocksDBStateBackend(true), new HashMapStateBackend()}}) {
            assertThat(sortedById(runWithRestore(pair[0], pair[1], events, 23)))
                    .as(pair[0].getClass().getSimpleName() + " -> " + pair[1].getClass().getSimpleName())
                    .containsExactlyElementsOf(sortedById(uninterrupted));
        }
    }

    /** With gdn.output.decode-top-k, each top-k entry carries its token's text from the model's tokenizer. */
    @Test
    void topKEntriesCarryTheirTextWhenAsked() throws Exception {
        Path recall = Path.of("../models/recall").toAbsolutePath().normalize();
        Configuration c = config(recall, 100, 10_000, 60_000);
        c.set(GdnOptions.DECODE_TOP_K, true);
        try (var h = harness(c, new HashMapStateBackend())) {
            h.open();
            h.processElement(ev("s", "e1", 1, 21, 273, 2, 21), 0);
            op(h).endInput();
            JsonNode r = JSON.readTree(values(h).get(0));
            assertThat(r.get("top_k")).isNotEmpty();
            for (JsonNode t : r.get("top_k")) {
                int id = t.get("token").asInt();
                String want = id == 0 ? "[UNK]" : id == 1 ? "SET" : id == 2 ? "GET"
                        : id >= 16 && id < 144 ? "k" + (id - 16) : id >= 256 ? "v" + (id - 256) : "<unused" + id + ">";
                assertThat(t.get("text").asText()).as("token %d", id).isEqualTo(want);
            }
            // the model recalls: after SET k5 v17 and GET k5, its best guess is v17
            assertThat(r.get("top_k").get(0).get("text").asText()).isEqualTo("v17");
        }
        Configuration none = config(MODEL, 100, 10_000, 60_000);
        none.set(GdnOptions.DECODE_TOP_K, true);
        try (var h = harness(none, new HashMapStateBackend())) {
            assertThatThrownBy(h::open).hasMessageContaining("gdn.output.decode-top-k is true but the model folder")
                    .hasMessageContaining("has no tokenizer.json");
        }
    }

    static final Path RECALL = Path.of("../models/recall").toAbsolutePath().normalize();

    static StreamEvent gen(String stream, String id, int maxTokens, int... prompt) {
        return StreamEvent.generate(stream, id, new GenerateSpec(prompt, maxTokens, 0, 0, 1, 0, new int[0][]));
    }

    /**
     * A generate control answers from a copy of the stream's memory: the recall model gives back the
     * fact (also from an empty prompt, after the question), and every result after it is byte for byte
     * what it is without the control.
     */
    @Test
    void generationAnswersFromAForkAndTheStreamGoesOnAsIfNothingWasAsked() throws Exception {
        List<StreamEvent> plain = List.of(ev("s", "e1", 1, 21, 273, 1, 25, 259), ev("t", "e2", 1, 30, 300),
                ev("s", "e3", 2, 21), ev("s", "e4", 273, 2, 25), ev("t", "e5", 2, 30));
        List<StreamEvent> asked = new ArrayList<>(plain);
        asked.add(1, gen("s", "g1", 1, 2, 21));    // GET k5 -> v17
        asked.add(4, gen("s", "g2", 3));           // empty prompt after "GET k5": continues from the last hidden state
        asked.add(asked.size(), gen("t", "g3", 2, 2, 30));
        List<String> without = runUninterrupted(RECALL, plain);
        List<String> with = runUninterrupted(RECALL, asked);
        assertThat(with).hasSize(asked.size());
        List<String> tokenResults = with.stream().filter(r -> !r.contains("\"generate\"")).toList();
        assertThat(sortedById(tokenResults)).containsExactlyElementsOf(sortedById(without));
        JsonNode g1 = JSON.readTree(with.stream().filter(r -> r.contains("\"g1\"")).findFirst().orElseThrow());
        assertThat(g1.get("generated").get(0).asInt()).isEqualTo(273);
        assertThat(g1.get("text").asText()).isEqualTo("v17");
        assertThat(g1.get("stop").asText()).isEqualTo("max_tokens");
        assertThat(g1.get("tokens_consumed").asLong()).isEqualTo(6);
        JsonNode g2 = JSON.readTree(with.stream().filter(r -> r.contains("\"g2\"")).findFirst().orElseThrow());
        assertThat(g2.get("generated").get(0).asInt()).isEqualTo(273);
        assertThat(g2.get("generated")).hasSize(3);
        JsonNode g3 = JSON.readTree(with.stream().filter(r -> r.contains("\"g3\"")).findFirst().orElseThrow());
        assertThat(g3.get("text").asText()).startsWith("v44");
    }

    /** Generations, greedy and sampled, give the same results after a snapshot and restore as without one. */
    @Test
    void generationIsDeterministicAcrossSnapshotAndRestore() throws Exception {
        List<StreamEvent> events = new ArrayList<>(workload(5, 24, 384));
        for (int i = 0; i < 6; i++) {
            events.add(4 * i + 2, StreamEvent.generate("s" + i, "g" + i,
                    new GenerateSpec(new int[] {2, 16 + i}, 4, i % 2 == 0 ? 0 : 1.3, i % 3 * 5, 0.9, 77 + i, new int[0][])));
        }
        for (int i = 0; i < events.size(); i++) {
            StreamEvent e = events.get(i);
            e.id = "e" + i;
        }
        List<String> uninterrupted = runUninterrupted(RECALL, events);
        assertThat(sortedById(runWithRestore(RECALL, new HashMapStateBackend(), new HashMapStateBackend(), events, 13)))
                .containsExactlyElementsOf(sortedById(uninterrupted));
    }

    /**
     * The summary policy on the summary model: readings only, a summary after every 100 tokens (50
     * readings), each exactly the stream's state as the requests in the model's event file expect it, and
     * the readings' own results byte for byte those of a run without the policy.
     */
    @Test
    void theSummaryPolicyWritesTheStreamsStateEveryNTokens() throws Exception {
        Path model = Path.of("../models/summary").toAbsolutePath().normalize();
        List<StreamEvent> readings = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        try (var t = dev.gdn.text.ModelTokenizer.forModel(model).orElseThrow()) {
            for (String line : java.nio.file.Files.readAllLines(model.resolve("events.jsonl"))) {
                JsonNode e = JSON.readTree(line);
                if (!e.get("stream").asText().equals("stream-1")) {
                    continue;
                }
                if (e.has("control")) {
                    expected.add(e.get("expect").asText());
                } else {
                    readings.add(ev("stream-1", "e" + readings.size(), t.encode(e.get("text").asText())));
                }
            }
        }
        Configuration c = config(model, 100, 10_000, 60_000);
        c.set(GdnOptions.SUMMARY_EVERY_TOKENS, 100);
        c.set(GdnOptions.SUMMARY_PROMPT, "SUM");
        c.set(GdnOptions.SUMMARY_MAX_TOKENS, 33);
        c.set(GdnOptions.SUMMARY_STOP, "END");
        List<StreamResult> out;
        try (var h = harness(c, new HashMapStateBackend())) {
            h.open();
            for (int i = 0; i < readings.size(); i++) {
                h.processElement(readings.get(i), 0);
                if (i % 37 == 36) {
                    op(h).flush(); // bundles that end anywhere, not on the summary points
                }
            }
            op(h).endInput();
            out = h.extractOutputValues();
        }
        List<String> summaries = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (StreamResult result : out) {
            String r = result.json();
            JsonNode n = JSON.readTree(r);
            // the job routes summaries (gdn.summary.topic) by kind: every summary is one, nothing else
            assertThat(result.kind == StreamResult.Kind.SUMMARY).isEqualTo("summary".equals(n.path("control").asText()));
            if ("summary".equals(n.path("control").asText())) {
                assertThat(n.get("id").asText()).isEqualTo("summary@" + 100 * (summaries.size() + 1));
                assertThat(n.get("stop").asText()).isEqualTo("stop");
                summaries.add(n.get("text").asText().replaceFirst(" END$", ""));
            } else {
                rest.add(r);
            }
        }
        assertThat(summaries).containsExactlyElementsOf(expected);
        assertThat(rest).containsExactlyElementsOf(runUninterrupted(model, readings));
    }

    /** An H2 hybrid (Mamba2 layers, memory format version 4) runs unchanged and survives a restore on both backends. */
    @Test
    void anH2HybridContinuesExactlyAcrossSnapshotAndRestore() throws Exception {
        List<StreamEvent> events = workload(11, 30, 256);
        List<String> uninterrupted = runUninterrupted(H2, events);
        assertThat(uninterrupted).hasSize(events.size());
        assertThat(uninterrupted).allSatisfy(r -> assertThat(JSON.readTree(r).has("error")).as(r).isFalse());
        for (StateBackend[] pair : new StateBackend[][] {
            {new HashMapStateBackend(), new HashMapStateBackend()},
            {new EmbeddedRocksDBStateBackend(true), new HashMapStateBackend()}}) {
            assertThat(sortedById(runWithRestore(H2, pair[0], pair[1], events, 17)))
                    .as("h2-tiny " + pair[0].getClass().getSimpleName() + " -> " + pair[1].getClass().getSimpleName())
                    .containsExactlyElementsOf(sortedById(uninterrupted));
        }
    }

    /**
     * A Kimi Delta Attention hybrid (model_type kda: KDA layers 0 and 2, sliding-window attention at 1,
     * grouped value heads, a lower-bounded gate) of seeded random weights, written as an FLA checkpoint.
     */
    static Path kdaCheckpoint(Path dir) throws Exception {
        var json = JSON.createObjectNode();
        json.put("model_type", "kda").put("vocab_size", 256).put("hidden_size", 64).put("num_heads", 2)
                .put("num_v_heads", 4).put("head_dim", 16).put("expand_v", 1.0).put("num_hidden_layers", 3)
                .put("conv_size", 4).put("lower_bound", -5.0).put("safe_gate", false);
        var attn = json.putObject("attn");
        attn.putArray("layers").add(1);
        attn.put("num_heads", 4).put("num_kv_heads", 2).put("window_size", 8).put("rope_theta", 10000.0);
        return dev.gdn.kernels.model.CheckpointWriter.writeRandom(json.toString(), 21, dir);
    }

    /** A KDA hybrid (memories of layer kind 3) runs in the operator unchanged and survives a restore on both backends. */
    @Test
    void aKdaHybridContinuesExactlyAcrossSnapshotAndRestore(@TempDir Path dir) throws Exception {
        Path kda = kdaCheckpoint(dir);
        List<StreamEvent> events = workload(13, 30, 256);
        List<String> uninterrupted = runUninterrupted(kda, events);
        assertThat(uninterrupted).hasSize(events.size());
        assertThat(uninterrupted).allSatisfy(r -> assertThat(JSON.readTree(r).has("error")).as(r).isFalse());
        for (StateBackend[] pair : new StateBackend[][] {
            {new HashMapStateBackend(), new HashMapStateBackend()},
            {new EmbeddedRocksDBStateBackend(true), new HashMapStateBackend()}}) {
            assertThat(sortedById(runWithRestore(kda, pair[0], pair[1], events, 17)))
                    .as("kda " + pair[0].getClass().getSimpleName() + " -> " + pair[1].getClass().getSimpleName())
                    .containsExactlyElementsOf(sortedById(uninterrupted));
        }
    }

    static List<String> sortedById(List<String> results) {
        return results.stream().sorted(java.util.Comparator.comparingInt(s -> {
            try {
                return Integer.parseInt(JSON.readTree(s).get("id").asText().substring(1));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        })).toList();
    }

    /** gdn-tiny with a two-class head: {@code score.weight [2, 128]} and {@code id2label}. */
    static Path classifier(Path dir) throws Exception {
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(MODEL.resolve("config.json").toFile());
        json.putObject("id2label").put("0", "calm").put("1", "alarm");
        java.nio.file.Files.writeString(dir.resolve("config.json"), json.toString());
        var w = new dev.gdn.kernels.io.SafetensorsWriter();
        try (var f = dev.gdn.kernels.io.SafetensorsFile.open(MODEL.resolve("model.safetensors"))) {
            for (var t : f.tensors().values()) {
                w.addF32(t.name(), f.floats(t.name()), t.shape());
            }
        }
        float[] score = new float[2 * 128];
        Random r = new Random(2);
        for (int i = 0; i < score.length; i++) {
            score[i] = (float) r.nextGaussian();
        }
        w.addF32("score.weight", score, 2, 128).write(dir.resolve("model.safetensors"));
        return dir;
    }

    /**
     * gdn-tiny with finite weights whose first layer overflows fp32: its pre-norm and value projection
     * scaled by 1e20 each, so the values written into the delta-rule state are infinite.
     */
    static Path overflowing(Path dir) throws Exception {
        java.nio.file.Files.copy(MODEL.resolve("config.json"), dir.resolve("config.json"));
        var w = new dev.gdn.kernels.io.SafetensorsWriter();
        try (var f = dev.gdn.kernels.io.SafetensorsFile.open(MODEL.resolve("model.safetensors"))) {
            for (var t : f.tensors().values()) {
                float[] v = f.floats(t.name());
                if (t.name().equals("model.layers.0.attn_norm.weight") || t.name().equals("model.layers.0.attn.v_proj.weight")) {
                    for (int i = 0; i < v.length; i++) {
                        v[i] *= 1e20f;
                    }
                }
                w.addF32(t.name(), v, t.shape());
            }
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    @Test
    void anEventThatTurnsTheMemoryNonFiniteGetsAnErrorAndNoNonFiniteMemoryReachesState(@TempDir Path dir)
            throws Exception {
        Configuration c = config(100, 10_000, 60_000);
        c.set(GdnOptions.MODEL_PATH, overflowing(dir).toString());
        c.set(GdnOptions.LOG_TOKENS, 0); // the memory itself goes to state, to be checked
        try (var h = harness(c, new HashMapStateBackend())) {
            h.open();
            h.processElement(ev("a", "e1", 1, 2, 3), 0);
            h.processElement(ev("a", "e2", 4), 0);
            op(h).endInput();
            List<String> out = values(h);
            assertThat(out).hasSize(2);
            for (String r : out) {
                JsonNode n = JSON.readTree(r);
                assertThat(n.has("error")).as(r).isTrue();
                assertThat(n.get("error").asText()).isEqualTo(BundleCore.NON_FINITE);
                assertThat(n.has("nll")).as(r).isFalse();
                assertThat(n.has("top_k")).as(r).isFalse();
            }
            h.prepareSnapshotPreBarrier(1);
            // what the barrier wrote to state: the stream afresh, not the non-finite memory
            var stored = op(h).storedMemory("a");
            assertThat(stored).isNotNull();
            assertThat(stored.isFinite()).isTrue();
            assertThat(stored.tokensConsumed()).isZero();
        }
    }

    @Test
    void aClassificationHeadAddsTheLabelAndItsProbabilities(@TempDir Path dir) throws Exception {
        Configuration c = config(100, 10_000, 60_000);
        c.set(GdnOptions.MODEL_PATH, classifier(dir).toString());
        c.set(GdnOptions.EMIT_EMBEDDING, true);
        try (var h = harness(c, new HashMapStateBackend())) {
            h.open();
            h.processElement(ev("a", "1", 5, 6, 7), 0);
            op(h).endInput();
            JsonNode r = JSON.readTree(values(h).get(0));
            double calm = r.get("probs").get("calm").asDouble();
            double alarm = r.get("probs").get("alarm").asDouble();
            assertThat(calm + alarm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-6));
            assertThat(r.get("label").asText()).isEqualTo(calm >= alarm ? "calm" : "alarm");
            assertThat(r.get("embedding")).hasSize(128);
        }
    }

    @Test
    void invalidOptionsAreNamed() {
        Configuration c = config(0, 10, 20);
        assertThatThrownBy(() -> new GdnInferenceOperator(c)).hasMessageContaining("gdn.batch.max-keys must be >= 1, got 0");
        Configuration d = config(1, 10, 20);
        d.set(GdnOptions.STORAGE, "fp8");
        assertThatThrownBy(() -> new GdnInferenceOperator(d)).hasMessageContaining("gdn.state.storage is 'fp8'");
        Configuration e = config(1, 10, 20);
        e.set(GdnOptions.CHUNK_PRECISION, "tf32");
        assertThatThrownBy(() -> new GdnInferenceOperator(e))
                .hasMessageContaining("gdn.cuda.chunk-precision is 'tf32', expected one of fp32, 3xtf32, bf16");
        Configuration f = config(1, 10, 20);
        f.set(GdnOptions.MATMUL_PRECISION, "fp16");
        assertThatThrownBy(() -> new GdnInferenceOperator(f)).hasMessageContaining("bf16-weights");
        Configuration g = config(1, 10, 20);
        g.set(GdnOptions.STATE_PRECISION, "fp16");
        assertThatThrownBy(() -> new GdnInferenceOperator(g))
                .hasMessageContaining("gdn.cuda.state-precision is 'fp16', expected one of fp32, bf16");
    }

    @Test
    void onTheHeapBackendNewStreamsBeyondTheHeapBudgetGetAnErrorResultAndHeldStreamsGoOn() throws Exception {
        Configuration c = config(1000, 100_000, 60_000);
        // room for a handful of gdn-tiny memories in this JVM's heap, whatever its size
        GdnOptions.validate(c);
        var model = ModelCache.get(MODEL.toString(), 2);
        long perStream = dev.gdn.state.MemoryLayout.of(model.config()).floats() * 4 + model.config().hiddenSize() * 4L
                + 1024;
        double fraction = 5.5 * perStream / Runtime.getRuntime().maxMemory();
        c.set(GdnOptions.MAX_HEAP_FRACTION, fraction);
        try (var h = harness(c, new HashMapStateBackend())) {
            h.open();
            for (int s = 0; s < 8; s++) {
                h.processElement(ev("s" + s, "a", 1, 2, 3), 0);
            }
            // bundles of one key each: the streams are admitted one by one
            for (int round = 0; round < 2; round++) {
                for (int s = 0; s < 8; s++) {
                    h.processElement(ev("s" + s, "r" + round, 4), 0);
                    op(h).flush();
                }
            }
            List<JsonNode> out = new ArrayList<>();
            for (String v : values(h)) {
                out.add(JSON.readTree(v));
            }
            assertThat(out).hasSize(24);
            List<JsonNode> errors = out.stream().filter(n -> n.has("error")).toList();
            assertThat(errors).isNotEmpty();
            assertThat(errors.get(0).get("error").asText()).startsWith("no room for a new stream: ")
                    .contains("gdn.state.max-heap-fraction").contains("--state-backend rocksdb")
                    .contains("gdn.state.idle-ttl");
            // a stream that got a memory keeps it: none of its later events is refused
            java.util.Set<String> admitted = new java.util.HashSet<>();
            for (JsonNode n : out) {
                if (!n.has("error")) {
                    admitted.add(n.get("stream").asText());
                } else {
                    assertThat(admitted).doesNotContain(n.get("stream").asText());
                }
            }
            assertThat(admitted.size()).isBetween(1, 7);
        }
    }
}
