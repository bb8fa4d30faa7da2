package dev.gdn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A savepoint of the previous release (memory format version 2, last hidden states in their own state)
 * resumes under this release: memories migrate to version 3 and the results after the resume are those
 * of an uninterrupted run of this release: the same events, tokens and ranking, scores within 1e-4. Not
 * byte for byte: the savepoint's memories were computed by that release's CPU kernels, whose SiLU
 * (Math.exp in double) rounds differently from this release's vector SiLU by up to a few float ulps.
 */
@Timeout(300)
class FormatUpgradeTest {
    static final Path SAVEPOINT = Path.of("src/test/resources/savepoints/format-v2-recall").toAbsolutePath();

    @TempDir
    Path dir;

    @Test
    void aVersionTwoSavepointResumesWithTheSameResultsAsAnUninterruptedRun() throws Exception {
        Path sp = dir.resolve("sp");
        Path copy = sp.resolve("savepoint-v2");
        Files.createDirectories(copy);
        try (Stream<Path> s = Files.list(SAVEPOINT)) {
            for (Path p : s.filter(p -> !p.getFileName().toString().endsWith(".md")).toList()) {
                Files.copy(p, copy.resolve(p.getFileName()));
            }
        }
        Files.writeString(sp.resolve("gdn-run.json"), "{\"events_done\": 120, \"savepoint\": \"" + copy.toUri() + "\"}");
        String[] workload = {"run", "--model", "../models/recall", "--events", "240", "--streams", "4", "--seed", "7",
            "--checkpoint-interval", "500ms"};

        Path all = dir.resolve("all.jsonl");
        var whole = ParityCommandTest.run(concat(workload, "--out", all.toString()));
        assertThat(whole.code()).as(whole.err()).isZero();

        Path after = dir.resolve("after.jsonl");
        var resumed = ParityCommandTest.run(concat(workload, "--from-savepoint", sp.toString(), "--out",
                after.toString()));
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(resumed.last()).startsWith("run: events_in=120 results=120 dead_letter=0 streams=4 ");

        List<String> afterLines = Files.readAllLines(after);
        assertThat(afterLines).hasSize(120);
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> uninterrupted = new java.util.HashMap<>();
        for (String l : Files.readAllLines(all)) {
            var n = json.readTree(l);
            uninterrupted.put(n.get("stream").asText() + "/" + n.get("id").asText(), n);
        }
        for (String l : afterLines) {
            var a = json.readTree(l);
            String key = a.get("stream").asText() + "/" + a.get("id").asText();
            var e = uninterrupted.get(key);
            assertThat(e).as(key).isNotNull();
            assertThat(a.get("tokens")).as(key).isEqualTo(e.get("tokens"));
            assertThat(a.get("tokens_consumed")).as(key).isEqualTo(e.get("tokens_consumed"));
            assertThat(a.get("nll").asDouble()).as(key).isCloseTo(e.get("nll").asDouble(),
                    org.assertj.core.api.Assertions.within(1e-4 * Math.max(1, e.get("nll").asDouble())));
            assertThat(a.get("top_k").get(0).get("token")).as(key).isEqualTo(e.get("top_k").get(0).get("token"));
            assertThat(a.get("top_k").get(0).get("p").asDouble()).as(key).isCloseTo(
                    e.get("top_k").get(0).get("p").asDouble(), org.assertj.core.api.Assertions.within(1e-4));
        }
        // the first result of each stream after the resume scores its first token from the migrated hidden state
        assertThat(afterLines).allSatisfy(l -> assertThat(l).doesNotContain("\"nll\":null"));
    }

    static String[] concat(String[] a, String... b) {
        List<String> l = new ArrayList<>(List.of(a));
        l.addAll(List.of(b));
        return l.toArray(String[]::new);
    }
}
