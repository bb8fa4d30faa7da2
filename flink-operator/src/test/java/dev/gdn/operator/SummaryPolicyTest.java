package dev.gdn.operator;

import static dev.gdn.operator.GdnInferenceOperatorTest.JSON;
import static dev.gdn.operator.GdnInferenceOperatorTest.RECALL;
import static dev.gdn.operator.GdnInferenceOperatorTest.ev;
import static dev.gdn.operator.GdnInferenceOperatorTest.op;
import static dev.gdn.operator.GdnInferenceOperatorTest.values;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.contrib.streaming.state.EmbeddedRocksDBStateBackend;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The summary policies by event count ({@code gdn.summary.every-events}) and by processing time
 * ({@code gdn.summary.interval}) on the recall model: each summary is exactly the generation an explicit
 * generate control would give at the same point of its stream, the streams' own results are unchanged,
 * the event count and the pending timers survive a snapshot and restore, and a reset restarts the count.
 */
@Timeout(300)
class SummaryPolicyTest {
    @org.junit.jupiter.api.io.TempDir
    static java.nio.file.Path checkpoints;

    static org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness<String, StreamEvent,
            StreamResult> harness(Configuration c,
            org.apache.flink.runtime.state.StateBackend backend) throws Exception {
        return GdnInferenceOperatorTest.harness(c, backend, checkpoints);
    }

    static Configuration config() {
        Configuration c = GdnInferenceOperatorTest.config(RECALL, 8, 10_000, 60_000);
        c.set(GdnOptions.SUMMARY_MAX_TOKENS, 3);
        return c;
    }

    /** {@code n} recall events (sets and gets) of {@code stream}. */
    static List<StreamEvent> events(String stream, int n, long seed) {
        Random r = new Random(seed);
        List<StreamEvent> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int key = 16 + r.nextInt(8);
            out.add(i % 3 == 2 ? ev(stream, stream + "-e" + i, 2, key)
                    : ev(stream, stream + "-e" + i, 1, key, 256 + r.nextInt(128)));
        }
        return out;
    }

    /** The explicit generate control the policy's summaries must equal. */
    static StreamEvent generate(String stream) {
        return StreamEvent.generate(stream, "ref", BundleSettings.summarySpec(config(), null, RECALL));
    }

    static List<JsonNode> parse(List<String> out) throws Exception {
        List<JsonNode> n = new ArrayList<>();
        for (String s : out) {
            n.add(JSON.readTree(s));
        }
        return n;
    }

    static List<String> controls(List<JsonNode> out, String stream, String control) {
        List<String> r = new ArrayList<>();
        for (JsonNode n : out) {
            if (n.get("stream").asText().equals(stream) && control.equals(n.path("control").asText())) {
                r.add(n.get("tokens_consumed").asLong() + ":" + n.get("generated"));
            }
        }
        return r;
    }

    static List<String> data(List<JsonNode> out, String stream) {
        List<String> r = new ArrayList<>();
        for (JsonNode n : out) {
            if (n.get("stream").asText().equals(stream) && !n.has("control")) {
                r.add(n.toString());
            }
        }
        return r;
    }

    @Test
    void everyNthEventGetsTheSummaryAGenerateControlWouldGiveThere() throws Exception {
        List<StreamEvent> a = events("a", 8, 1);
        List<StreamEvent> b = events("b", 8, 2);
        Configuration c = config();
        c.set(GdnOptions.SUMMARY_EVERY_EVENTS, 3);
        List<JsonNode> got;
        try (var h = harness(c, new HashMapStateBackend())) {
            h.open();
            for (int i = 0; i < 8; i++) {
                h.processElement(a.get(i), 0);
                h.processElement(b.get(i), 0);
                if (i % 5 == 4) {
                    op(h).flush(); // bundles that end anywhere, not on the summary points
                }
            }
            op(h).endInput();
            got = parse(values(h));
        }
        List<JsonNode> ref;
        try (var h = harness(config(), new HashMapStateBackend())) {
            h.open();
            for (int i = 0; i < 8; i++) {
                h.processElement(a.get(i), 0);
                h.processElement(b.get(i), 0);
                if (i == 2 || i == 5) {
                    h.processElement(generate("a"), 0);
                    h.processElement(generate("b"), 0);
                }
            }
            op(h).endInput();
            ref = parse(values(h));
        }
        for (String s : List.of("a", "b")) {
            assertThat(controls(got, s, "summary")).as("stream %s summaries", s).hasSize(2)
                    .containsExactlyElementsOf(controls(ref, s, "generate"));
            assertThat(data(got, s)).as("stream %s own results", s).containsExactlyElementsOf(data(ref, s));
        }
        for (JsonNode n : got) {
            if ("summary".equals(n.path("control").asText())) {
                assertThat(n.get("id").asText()).isEqualTo("summary@" + n.get("tokens_consumed").asLong());
            }
        }
    }

    @Test
    void sampledSummariesFollowTheirSettingsAndBadSettingsAreNamed() throws Exception {
        List<StreamEvent> a = events("a", 6, 8);
        Configuration c = config();
        c.set(GdnOptions.SUMMARY_EVERY_EVENTS, 3);
        c.set(GdnOptions.SUMMARY_TEMPERATURE, 0.8);
        c.set(GdnOptions.SUMMARY_TOP_K, 5);
        c.set(GdnOptions.SUMMARY_SEED, 9L);
        List<JsonNode> got;
        try (var h = harness(c, new HashMapStateBackend())) {
            h.open();
            for (StreamEvent e : a) {
                h.processElement(e, 0);
            }
            op(h).endInput();
            got = parse(values(h));
        }
        GenerateSpec spec = BundleSettings.summarySpec(c, null, RECALL);
        List<JsonNode> ref;
        try (var h = harness(config(), new HashMapStateBackend())) {
            h.open();
            for (int i = 0; i < a.size(); i++) {
                h.processElement(a.get(i), 0);
                if (i % 3 == 2) {
                    h.processElement(StreamEvent.generate("a", "ref", spec), 0);
                }
            }
            op(h).endInput();
            ref = parse(values(h));
        }
        assertThat(controls(got, "a", "summary")).hasSize(2).containsExactlyElementsOf(controls(ref, "a", "generate"));
        Configuration bad = config();
        bad.set(GdnOptions.SUMMARY_EVERY_EVENTS, 3);
        bad.set(GdnOptions.SUMMARY_TEMPERATURE, -1.0);
        // refused with the other options, before the operator exists
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> harness(bad, new HashMapStateBackend()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gdn.summary.temperature = -1.0");
    }

    @Test
    void theEventCountSurvivesARestoreAndRestartsAfterAReset() throws Exception {
        List<StreamEvent> all = new ArrayList<>(events("a", 9, 3));
        all.add(new StreamEvent("a", "a-reset", new int[0], true));
        all.addAll(events("a", 4, 4).stream().map(e -> ev("a", e.id + "-after", e.tokens)).toList());
        Configuration c = config();
        c.set(GdnOptions.SUMMARY_EVERY_EVENTS, 3);
        List<String> uninterrupted;
        try (var h = harness(c, new HashMapStateBackend())) {
            h.open();
            for (StreamEvent e : all) {
                h.processElement(e, 0);
            }
            op(h).endInput();
            uninterrupted = values(h);
        }
        // summaries after events 3, 6, 9, and 3 events after the reset
        assertThat(controls(parse(uninterrupted), "a", "summary")).hasSize(4);
        List<String> restored = new ArrayList<>();
        OperatorSubtaskState snap;
        try (var h = harness(c, new EmbeddedRocksDBStateBackend(true))) {
            h.open();
            for (int i = 0; i < 5; i++) {
                h.processElement(all.get(i), 0);
            }
            h.prepareSnapshotPreBarrier(1);
            snap = h.snapshot(1, 1);
            restored.addAll(values(h));
        }
        try (var h = harness(c, new EmbeddedRocksDBStateBackend(true))) {
            h.initializeState(snap);
            h.open();
            for (int i = 5; i < all.size(); i++) {
                h.processElement(all.get(i), 0);
            }
            op(h).endInput();
            restored.addAll(values(h));
        }
        assertThat(restored).containsExactlyElementsOf(uninterrupted);
    }

    @Test
    void aStreamsIntervalSummaryFollowsItsEventsByTheIntervalAndSurvivesARestore() throws Exception {
        List<StreamEvent> a = events("a", 4, 5);
        List<StreamEvent> b = events("b", 2, 6);
        Configuration c = config();
        c.set(GdnOptions.SUMMARY_INTERVAL, Duration.ofSeconds(1));
        List<JsonNode> got = new ArrayList<>();
        OperatorSubtaskState snap;
        try (var h = harness(c, new HashMapStateBackend())) {
            h.open();
            h.setProcessingTime(0);
            h.processElement(a.get(0), 0);
            h.processElement(a.get(1), 0);
            h.setProcessingTime(500);
            h.processElement(b.get(0), 0);
            h.setProcessingTime(999);
            assertThat(values(h)).as("nothing due yet, the events still buffered").isEmpty();
            h.setProcessingTime(1000);
            List<JsonNode> first = parse(values(h));
            assertThat(controls(first, "a", "summary")).as("a's summary, after its buffered events").hasSize(1);
            assertThat(data(first, "a")).hasSize(2);
            assertThat(controls(first, "b", "summary")).isEmpty();
            h.setProcessingTime(1500);
            h.setProcessingTime(5000);
            got = parse(values(h));
            assertThat(controls(got, "b", "summary")).as("b's summary at 1,500 and nothing more without events")
                    .hasSize(1);
            assertThat(controls(got, "a", "summary")).hasSize(1);
            h.processElement(a.get(2), 0);
            h.processElement(a.get(3), 0);
            h.setProcessingTime(5500);
            h.prepareSnapshotPreBarrier(1);
            snap = h.snapshot(1, 1);
            got = parse(values(h));
            assertThat(controls(got, "a", "summary")).as("the next one is due at 6,000").hasSize(1);
        }
        List<JsonNode> after;
        try (var h = harness(c, new HashMapStateBackend())) {
            h.initializeState(snap);
            h.setProcessingTime(5500);
            h.open();
            h.setProcessingTime(6000);
            after = parse(values(h));
        }
        assertThat(controls(after, "a", "summary")).as("the restored timer fires").hasSize(1);
        // the same summaries as explicit generate controls at the same points
        List<JsonNode> ref;
        try (var h = harness(config(), new HashMapStateBackend())) {
            h.open();
            h.processElement(a.get(0), 0);
            h.processElement(a.get(1), 0);
            h.processElement(generate("a"), 0);
            h.processElement(b.get(0), 0);
            h.processElement(generate("b"), 0);
            h.processElement(a.get(2), 0);
            h.processElement(a.get(3), 0);
            h.processElement(generate("a"), 0);
            op(h).endInput();
            ref = parse(values(h));
        }
        List<String> summariesA = new ArrayList<>(controls(got, "a", "summary"));
        summariesA.addAll(controls(after, "a", "summary"));
        assertThat(summariesA).containsExactlyElementsOf(controls(ref, "a", "generate"));
        assertThat(controls(got, "b", "summary")).containsExactlyElementsOf(controls(ref, "b", "generate"));
    }
}
