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
        var r = ParityCommandTest.run("run", "--model", "../models/recall", "--events", "400", "--streams", "12",
                "--bad-events", "6", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        List<String> lines = r.out();
        assertThat(lines.get(lines.size() - 2)).matches("recall: gets=\\d+ correct=\\d+ accuracy=(0|1)\\.\\d{4}");
        assertThat(r.last()).matches("run: events_in=400 results=394 dead_letter=6 streams=12 elapsed_s=\\d+\\.\\d");
        List<String> results = Files.readAllLines(out);
        assertThat(results).hasSize(394);
        assertThat(results.get(0)).startsWith("{\"stream\":\"stream-0\",\"id\":\"stream-0/0s\"");
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
}
