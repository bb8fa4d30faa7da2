package dev.gdn.head;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.demo.DemoEvent;
import dev.gdn.demo.SensorQueries;
import dev.gdn.job.ParseEvents;
import dev.gdn.kernels.head.SoftmaxRegression;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.operator.EventParser;
import dev.gdn.text.ModelTokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class HeadFitTest {
    static final Path SUMMARY = Path.of("../models/summary");
    static GatedDeltaNetModel model;
    static EventParser parser;

    @BeforeAll
    static void load() {
        model = GatedDeltaNetModel.load(SUMMARY, CpuKernels.fast(2, CpuKernels.DEFAULT_CHUNK_THRESHOLD));
        parser = ParseEvents.parser(new Configuration(), model.config(), ModelTokenizer.forModel(SUMMARY).orElseThrow());
    }

    static List<DemoEvent> events(List<String> lines) {
        List<DemoEvent> out = new ArrayList<>();
        for (String l : lines) {
            var o = (com.fasterxml.jackson.databind.node.ObjectNode) JsonLines.read(l);
            String stream = o.remove("stream").asText();
            out.add(new DemoEvent(stream, o.path("id").asText(), o.toString().getBytes(StandardCharsets.UTF_8), -1));
        }
        return out;
    }

    @Test
    void featuresAreTheHiddenStateAfterEachLabeledEventOnItsStreamsOwnHistory() {
        // three streams, one with a reset; groups of 2 slots so that streams share and leave slots; events long
        // enough that stretches split at the chunk length
        List<String> lines = new ArrayList<>();
        lines.add(line("a", "a1", "s1 v3 s5 v100", null));
        lines.add(line("b", "b1", "s5 v2", "low"));
        lines.add(line("a", "a2", "QRY s5", "high"));
        lines.add(line("c", "c1", "s4 v9 ".repeat(20).strip(), null));
        lines.add(line("c", "c2", "QRY s5", "none"));
        lines.add("{\"stream\":\"a\",\"id\":\"a3\",\"control\":\"reset\"}");
        lines.add(line("a", "a4", "QRY s5", "none"));
        lines.add(line("b", "b2", "s3 v1 ".repeat(40).strip(), null));
        lines.add(line("b", "b3", "QRY s5", "low"));
        LabeledStreams input = LabeledStreams.of(events(lines), parser);
        MemoryFeatures.Features f = MemoryFeatures.compute(model, input.streams(), 2);
        assertThat(f.rows()).extracting(MemoryFeatures.Row::id).containsExactly("a2", "a4", "b1", "b3", "c2");

        // the reference: each stream alone, event after event, on the plain reference kernels
        GatedDeltaNetModel reference = model.withKernels(CpuKernels.reference());
        List<float[]> expected = new ArrayList<>();
        for (String stream : List.of("a", "b", "c")) {
            StreamMemory m = reference.newMemory();
            for (LabeledStreams.Stream s : input.streams()) {
                if (!s.key().equals(stream)) {
                    continue;
                }
                for (LabeledStreams.Step st : s.steps()) {
                    if (st.reset()) {
                        m = reference.newMemory();
                        continue;
                    }
                    var r = reference.forward(List.of(new StreamInput(m, st.tokens())), false);
                    float[] h = r.hiddenOf(0);
                    if (st.label() != null) {
                        expected.add(java.util.Arrays.copyOfRange(h, h.length - model.config().hiddenSize(), h.length));
                    }
                }
            }
        }
        int d = f.dim();
        for (int i = 0; i < expected.size(); i++) {
            float[] got = java.util.Arrays.copyOfRange(f.x(), i * d, (i + 1) * d);
            assertThat(relativeRms(got, expected.get(i))).as("row %d (%s)", i, f.rows().get(i).id()).isLessThan(1e-5);
        }
        // a reset takes the stream back to nothing: its query then sees what a fresh stream's query sees
        assertThat(relativeRms(java.util.Arrays.copyOfRange(f.x(), d, 2 * d),
                java.util.Arrays.copyOfRange(f.x(), 4 * d, 5 * d))).isGreaterThan(1e-3);
    }

    @Test
    void aHeadFittedOnTheDemoClassifiesFreshStreams() {
        List<DemoEvent> train = events(SensorQueries.streams(300, 1, "train"));
        HeadFit.Result r = HeadFit.fit(model, parser, train, new HeadFit.Options(SensorQueries.CLASSES, 0.2, 7,
                SoftmaxRegression.Settings.defaults()));
        assertThat(r.classes()).containsExactly("high", "low", "none");
        assertThat(r.validation().events()).isPositive();
        assertThat(r.train().events() + r.validation().events()).isEqualTo(sum(r.classCounts()));
        assertThat(r.validation().accuracy()).isGreaterThanOrEqualTo(0.95);
        long[][] c = r.validation().confusion();
        assertThat(c[0][0] + c[1][1] + c[2][2]).isEqualTo(r.validation().correct());
        // the held-out streams are whole streams the fit never saw
        for (LabeledStreams.Stream s : LabeledStreams.of(train, parser).streams()) {
            assertThat(HeadFit.heldOut(s.key(), 0.2, 7)).isEqualTo(HeadFit.heldOut(s.key(), 0.2, 7));
        }
    }

    @Test
    void badLabelsAreRefusedNamingWhatWasFound() {
        HeadFit.Options any = new HeadFit.Options(List.of(), 0, 7, SoftmaxRegression.Settings.defaults());
        assertThatThrownBy(() -> HeadFit.fit(model, parser, events(List.of(line("a", "1", "s1 v2", null))), any))
                .hasMessageContaining("no event with tokens carries a \"label\"");
        assertThatThrownBy(() -> HeadFit.fit(model, parser, events(List.of(line("a", "1", "QRY s5", "low"),
                line("b", "2", "QRY s5", "low"))), any))
                .hasMessage("every one of the 2 labeled events is labeled 'low': a classifier needs at least 2 classes");
        HeadFit.Options named = new HeadFit.Options(List.of("high", "low"), 0, 7, SoftmaxRegression.Settings.defaults());
        assertThatThrownBy(() -> HeadFit.fit(model, parser, events(List.of(line("a", "1", "QRY s5", "hgih"))), named))
                .hasMessage("event '1' of stream 'a' is labeled 'hgih', not one of --classes high,low");
        assertThatThrownBy(() -> HeadFit.fit(model, parser, events(List.of(line("a", "1", "QRY s5", "low"))), named))
                .hasMessageStartingWith("class 'high' has no labeled event in the 1 training streams (0 in all)");
        assertThatThrownBy(() -> new HeadFit.Options(List.of("x"), 0, 7, SoftmaxRegression.Settings.defaults()))
                .hasMessageContaining("--classes names one class (x)");
        assertThatThrownBy(() -> new HeadFit.Options(List.of(), 0.95, 7, SoftmaxRegression.Settings.defaults()))
                .hasMessage("--holdout must be in [0, 0.9], got 0.95");
    }

    @Test
    void eventsTheJobWouldRefuseAreLeftOutAndCounted() {
        List<DemoEvent> in = events(List.of(line("a", "1", "QRY s5", "low"), line("b", "2", "QRY s5", "high")));
        in = new ArrayList<>(in);
        in.add(new DemoEvent("a", "bad", "{\"id\":\"bad\",\"tokens\":[9999],\"label\":\"low\"}".getBytes(StandardCharsets.UTF_8), -1));
        LabeledStreams s = LabeledStreams.of(in, parser);
        assertThat(s.labeled()).isEqualTo(2);
        assertThat(s.refused()).isEqualTo(1);
        assertThat(s.firstRefusal()).startsWith("event 'bad': 'tokens'[0] = 9999 is outside the vocabulary");
    }

    static String line(String stream, String id, String text, String label) {
        var o = JsonLines.object();
        o.put("stream", stream).put("id", id).put("text", text);
        if (label != null) {
            o.put("label", label);
        }
        return o.toString();
    }

    static int sum(int[] a) {
        int s = 0;
        for (int v : a) {
            s += v;
        }
        return s;
    }

    static double relativeRms(float[] a, float[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (a[i] - b[i]) * (double) (a[i] - b[i]);
            den += b[i] * (double) b[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-30));
    }

    /** Jackson in one place for these tests. */
    static final class JsonLines {
        private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

        static com.fasterxml.jackson.databind.JsonNode read(String line) {
            try {
                return JSON.readTree(line);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException(line, e);
            }
        }

        static com.fasterxml.jackson.databind.node.ObjectNode object() {
            return JSON.createObjectNode();
        }
    }
}
