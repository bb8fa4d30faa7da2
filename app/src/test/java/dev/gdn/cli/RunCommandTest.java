package dev.gdn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code gdn run} on the embedded default: its output contract and exit codes. */
@Timeout(300)
class RunCommandTest {
    @TempDir
    Path dir;

    @Test
    void demoRunPrintsTheSummaryLinesAndWritesSortedResults() throws Exception {
        Path out = dir.resolve("results.jsonl");
        Path dead = dir.resolve("dead.jsonl");
        var r = ParityCommandTest.run("run", "--model", "../models/recall", "--events", "400", "--streams", "12",
                "--bad-events", "6", "--out", out.toString(), "--dead-letters", dead.toString());
        // the bad events' reasons: on stderr in short, in the file each with its event
        assertThat(r.err()).containsPattern("gdn run: 6 dead letters: \\d+ x [^;]+.* \\(all in " + java.util.regex.Pattern.quote(dead.toString()) + "\\)");
        List<String> deadLines = Files.readAllLines(dead);
        assertThat(deadLines).hasSize(6).allSatisfy(l -> {
            var n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(l);
            assertThat(n.path("reason").asText()).isNotBlank();
            assertThat(n.has("event")).isTrue();
        });
        assertThat(r.code()).as(r.err()).isZero();
        List<String> lines = r.out();
        assertThat(lines.get(lines.size() - 2)).matches("recall: gets=\\d+ correct=\\d+ accuracy=(0|1)\\.\\d{4}");
        assertThat(r.last()).matches("run: events_in=400 results=394 dead_letter=6 streams=12 elapsed_s=\\d+\\.\\d");
        List<String> results = Files.readAllLines(out);
        assertThat(results).hasSize(394);
        assertThat(results.get(0)).startsWith("{\"stream\":\"stream-0\",\"id\":\"stream-0/0s\"");
    }

    /**
     * A Kimi Delta Attention hybrid (model_type kda, attention at layer 1) of random weights runs the job
     * unchanged: every event answered, results scored over its vocabulary.
     */
    @Test
    void aKdaCheckpointRunsTheJobUnchanged() throws Exception {
        Path model = dev.gdn.kernels.model.CheckpointWriter.writeRandom("""
                {"model_type": "kda", "vocab_size": 384, "hidden_size": 64, "num_heads": 2, "num_v_heads": 4,
                 "head_dim": 16, "expand_v": 1.0, "num_hidden_layers": 3, "conv_size": 4, "lower_bound": -5.0,
                 "attn": {"layers": [1], "num_heads": 4, "num_kv_heads": 2, "window_size": 8, "rope_theta": 10000.0}}
                """, 3, dir.resolve("kda-model"));
        Path out = dir.resolve("kda-results.jsonl");
        var r = ParityCommandTest.run("run", "--model", model.toString(), "--events", "200", "--streams", "8", "--out",
                out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.last()).matches("run: events_in=200 results=200 dead_letter=0 streams=8 elapsed_s=\\d+\\.\\d");
        List<String> results = Files.readAllLines(out);
        assertThat(results).hasSize(200).allSatisfy(l -> assertThat(l).contains("\"top_k\":[{\"token\":").doesNotContain("\"error\""));
    }

    @Test
    void anInjectedFailureIsReportedAsHappenedAndRecoveredFrom() {
        var r = ParityCommandTest.run("run", "--model", "../models/recall", "--events", "300", "--streams", "10",
                "--inject-failure-after", "120");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("gdn run: the injected failure happened after 120 events; the job restarted from "
                + "its last checkpoint and went on");
        assertThat(r.last()).startsWith("run: events_in=300 results=300 dead_letter=0 ");
    }

    @Test
    void helpListsEveryExitCode() {
        var r = ParityCommandTest.run("run", "--help");
        assertThat(r.code()).isZero();
        assertThat(String.join("\n", r.out())).contains("Exit codes:").containsPattern("(?m)^\\s*3\\s+--backend cuda where CUDA cannot work");
    }

    @Test
    void badOptionsExitWithTwo() {
        var r = ParityCommandTest.run("run", "--model", "../models/recall", "--stop-after", "10");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--stop-after N and --savepoint-dir DIR go together");
        var m = ParityCommandTest.run("run", "--model", dir.toString());
        assertThat(m.code()).isEqualTo(2);
        assertThat(m.err()).contains("no config.json there");
    }

    @Test
    void anInputLineOverTheEventLimitReachesTheJobAndIsDeadLetteredNotDropped() throws Exception {
        Path f = dir.resolve("big.jsonl");
        String big = "{\"stream\":\"s1\",\"id\":\"big\",\"tokens\":[1],\"pad\":\"" + "p".repeat(2_000_000) + "\"}";
        Files.write(f, List.of("{\"stream\":\"s1\",\"id\":\"a\",\"tokens\":[1,2]}", big,
                "{\"stream\":\"s1\",\"id\":\"b\",\"tokens\":[3]}"));
        var r = ParityCommandTest.run("run", "--model", "../models/recall", "--input-file", f.toString(),
                "--checkpoint-interval", "500ms");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.last()).startsWith("run: events_in=3 results=2 dead_letter=1 streams=1 ");
    }

    @Test
    void inputFileLinesWithDuplicateFieldsOrTrailingDataAreDeadLetteredNotReadLeniently() throws Exception {
        Path f = dir.resolve("lenient.jsonl");
        Files.write(f, List.of("{\"stream\":\"s1\",\"id\":\"a\",\"tokens\":[1,2,3]}",
                "{\"stream\":\"s1\",\"control\":\"explode\",\"control\":\"reset\"}",
                "{\"stream\":\"s1\",\"id\":\"A\",\"tokens\":[1]}{\"stream\":\"s1\",\"id\":\"B\",\"tokens\":[2]}",
                "{\"stream\":\"s1\",\"id\":\"t\",\"tokens\":[1]} trailing",
                "{\"stream\":\"s1\",\"id\":\"b\",\"tokens\":[4]}"));
        Path out = dir.resolve("lenient.out");
        var r = ParityCommandTest.run("run", "--model", "../models/recall", "--input-file", f.toString(), "--out",
                out.toString(), "--checkpoint-interval", "500ms");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.last()).startsWith("run: events_in=5 results=2 dead_letter=3 streams=1 ");
        // no reset happened: the stream's last event counts every token before it
        assertThat(Files.readAllLines(out).get(1)).startsWith("{\"stream\":\"s1\",\"id\":\"b\",\"tokens\":1,"
                + "\"tokens_consumed\":4,");
    }

    @Test
    void eventsWithoutAnIdAreMatchedToTheirResultsInStreamOrder() throws Exception {
        Path f = dir.resolve("noid.jsonl");
        Files.write(f, List.of("{\"stream\":\"s1\",\"tokens\":[1,2]}", "{\"stream\":\"s2\",\"tokens\":[5]}",
                "{\"stream\":\"s1\",\"id\":\"x\",\"tokens\":[3]}", "{\"stream\":\"s1\",\"tokens\":[4]}"));
        Path out = dir.resolve("noid.out");
        var r = ParityCommandTest.run("run", "--model", "../models/recall", "--input-file", f.toString(), "--out",
                out.toString(), "--checkpoint-interval", "500ms");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).noneMatch(l -> l.startsWith("events without exactly one result"));
        assertThat(r.last()).startsWith("run: events_in=4 results=4 dead_letter=0 streams=2 ");
        List<String> results = Files.readAllLines(out);
        assertThat(results).hasSize(4);
        // s1's three results in its events' order (2, 3 and 4 tokens consumed), then s2's
        assertThat(results).extracting(l -> JSON.readTree(l).get("tokens_consumed").asLong())
                .containsExactly(2L, 3L, 4L, 1L);
    }

    static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * The recall demo sent as text with a generate control (empty prompt, one token) after every get:
     * the generated answers are the model's recall, and every text event's result is byte for byte the
     * result of the same event sent as token ids (the controls change nothing the streams see).
     */
    @Test
    void theRecallDemoAsTextRecallsThroughGenerationAndStreamsSeeTheSameTokens() throws Exception {
        List<String> tokenLines = Files.readAllLines(Path.of("../models/recall/events.jsonl")).subList(0, 600);
        List<String> textLines = new java.util.ArrayList<>();
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (String l : tokenLines) {
            ids.add(JSON.readTree(l).get("id").asText());
        }
        for (String l : Files.readAllLines(Path.of("../models/recall/events-text.jsonl"))) {
            String id = JSON.readTree(l).get("id").asText();
            if (ids.contains(id.endsWith("?") ? id.substring(0, id.length() - 1) : id)) {
                textLines.add(l);
            }
        }
        Path tokens = dir.resolve("tokens.jsonl");
        Path text = dir.resolve("text.jsonl");
        Files.write(tokens, tokenLines);
        Files.write(text, textLines);
        Path outTokens = dir.resolve("tokens.out");
        Path outText = dir.resolve("text.out");
        var a = ParityCommandTest.run("run", "--model", "../models/recall", "--input-file", tokens.toString(), "--out", outTokens.toString(),
                "--checkpoint-interval", "500ms");
        var b = ParityCommandTest.run("run", "--model", "../models/recall", "--input-file", text.toString(), "--out", outText.toString(),
                "--checkpoint-interval", "500ms");
        assertThat(a.code()).as(a.err()).isZero();
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(a.out().get(0)).startsWith("recall: gets=");
        // the same gets, answered by generation instead of the top 1 of the get's result: the same count
        assertThat(b.out().get(0)).isEqualTo(a.out().get(0));
        List<String> generated = new java.util.ArrayList<>();
        List<String> rest = new java.util.ArrayList<>();
        for (String l : Files.readAllLines(outText)) {
            (l.contains("\"control\":\"generate\"") ? generated : rest).add(l);
        }
        assertThat(rest).containsExactlyElementsOf(Files.readAllLines(outTokens));
        assertThat(generated).isNotEmpty().allSatisfy(g -> assertThat(g).contains("\"text\":\"v"));
    }

    /** The summary demo: every summary generated from a fork of its stream is exactly the stream's state. */
    @Test
    void theSummaryDemoWritesEveryStreamsStateExactly() {
        var r = ParityCommandTest.run("run", "--model", "../models/summary", "--input-file",
                "../models/summary/events.jsonl", "--checkpoint-interval", "500ms");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("summaries: requests=80 exact=80");
        assertThat(r.last()).startsWith("run: events_in=4080 results=4080 dead_letter=0 streams=4 ");
    }
}
