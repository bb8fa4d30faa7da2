package dev.gdn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The classification demo end to end, as the README walks a user through it: labeled events for the
 * summary model, a head fitted on 10,000 labeled events, the job classifying fresh streams, and the same
 * queries without their streams' memories.
 */
class HeadCommandTest {
    @TempDir
    Path tmp;

    @Test
    void fitThenRunClassifiesFreshStreamsFromTheirMemoryAndNotWithoutIt() throws Exception {
        Path events = tmp.resolve("events");
        var gen = ParityCommandTest.run("head", "demo-events", "--out", events.toString());
        assertThat(gen.code()).as(gen.err()).isZero();

        Path model = tmp.resolve("summary-head");
        var fit = ParityCommandTest.run("head", "fit", "--model", "../models/summary", "--events",
                events.resolve("train.jsonl").toString(), "--out", model.toString(), "--classes", "high,low,none");
        assertThat(fit.code()).as(fit.err()).isZero();
        String fitOut = String.join("\n", fit.out());
        System.out.println(fitOut);
        Matcher labeled = Pattern.compile("events: (\\d+) labeled").matcher(fitOut);
        assertThat(labeled.find()).isTrue();
        assertThat(Integer.parseInt(labeled.group(1))).isGreaterThanOrEqualTo(10_000);
        assertThat(accuracy(fitOut, "validation: streams=\\d+ events=\\d+ accuracy=([0-9.]+)")).isGreaterThanOrEqualTo(0.95);

        var run = ParityCommandTest.run("run", "--model", model.toString(), "--input-file",
                events.resolve("test.jsonl").toString());
        assertThat(run.code()).as(run.err()).isZero();
        String runOut = String.join("\n", run.out());
        System.out.println(runOut);
        assertThat(accuracy(runOut, "classification: events=1974 correct=\\d+ accuracy=([0-9.]+)"))
                .isGreaterThanOrEqualTo(0.95);

        // without its memory a query cannot know: the head answers 'none' (nothing reported), no better
        // than always answering the most frequent class
        var memoryless = ParityCommandTest.run("run", "--model", model.toString(), "--input-file",
                events.resolve("test-memoryless.jsonl").toString());
        assertThat(memoryless.code()).as(memoryless.err()).isZero();
        String labels = Files.readString(events.resolve("test.jsonl"));
        double majority = Math.max(count(labels, "\"label\":\"high\""), Math.max(count(labels, "\"label\":\"low\""),
                count(labels, "\"label\":\"none\""))) / 1974.0;
        assertThat(accuracy(String.join("\n", memoryless.out()), "classification: events=1974 correct=\\d+ accuracy=([0-9.]+)"))
                .isLessThanOrEqualTo(majority + 0.02);
    }

    @Test
    void anEventLabeledWithAClassTheHeadDoesNotHaveStopsTheRunBeforeItStarts() throws Exception {
        Path model = tmp.resolve("m");
        Path train = tmp.resolve("train.jsonl");
        Files.write(train, java.util.List.of(
                "{\"stream\":\"a\",\"id\":\"1\",\"text\":\"s5 v100 QRY s5\",\"label\":\"high\"}",
                "{\"stream\":\"b\",\"id\":\"2\",\"text\":\"s5 v1 QRY s5\",\"label\":\"low\"}"));
        var fit = ParityCommandTest.run("head", "fit", "--model", "../models/summary", "--events", train.toString(),
                "--out", model.toString(), "--holdout", "0");
        assertThat(fit.code()).as(fit.err()).isZero();
        assertThat(fit.out()).contains("validation: none (no stream held out: --holdout 0, or too few streams)");
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"stream\":\"a\",\"id\":\"q\",\"text\":\"QRY s5\",\"label\":\"hgih\"}\n");
        var run = ParityCommandTest.run("run", "--model", model.toString(), "--input-file", bad.toString());
        assertThat(run.code()).isEqualTo(GdnCli.EXIT_BAD_INPUT);
        assertThat(run.err()).contains("event 'q' of stream 'a' is labeled 'hgih', which is not a class of the model's "
                + "classification head (id2label: high, low)");

        var refit = ParityCommandTest.run("head", "fit", "--model", "../models/summary", "--events", train.toString(),
                "--out", model.toString());
        assertThat(refit.code()).isEqualTo(GdnCli.EXIT_BAD_INPUT);
        assertThat(refit.err()).contains("--out " + model + " is not empty");
    }

    private static double accuracy(String out, String regex) {
        Matcher m = Pattern.compile(regex).matcher(out);
        assertThat(m.find()).as("'%s' in:%n%s", regex, out).isTrue();
        return Double.parseDouble(m.group(1));
    }

    private static int count(String s, String what) {
        return s.split(Pattern.quote(what), -1).length - 1;
    }
}
