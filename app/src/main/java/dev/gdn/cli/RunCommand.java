package dev.gdn.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gdn.demo.DemoEvent;
import dev.gdn.demo.EventFiles;
import dev.gdn.demo.RecallTask;
import dev.gdn.run.EmbeddedKafka;
import dev.gdn.run.ExternalRun;
import dev.gdn.run.LocalRun;
import dev.gdn.kernels.cuda.Backends;
import dev.gdn.operator.GdnOptions;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gdn run}: the streaming job. By default on an embedded Kafka broker and a local Flink cluster
 * with the bundled recall model and a seeded demo workload; with {@code --bootstrap-servers} against a
 * user's Kafka and model.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the Gated DeltaNet streaming job.",
            "Default: an embedded Kafka broker, a local Flink cluster, the bundled recall model and a seeded",
            "demo workload; prints progress, then `recall: ...` and `run: ...`. With --bootstrap-servers it",
            "runs against your Kafka and --model and produces nothing itself."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:every event has exactly one result or dead-letter record", "1:events lost or duplicated",
            "2:bad input or the run failed", "3:--backend cuda where CUDA cannot work"})
public final class RunCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "DIR", description = "checkpoint folder (default: the bundled recall model)")
    Path model;

    @Option(names = "--events", defaultValue = "10000", description = "demo events to produce (default ${DEFAULT-VALUE})")
    int events;

    @Option(names = "--streams", defaultValue = "100", description = "demo streams (default ${DEFAULT-VALUE})")
    int streams;

    @Option(names = "--bad-events", defaultValue = "0", description = "malformed demo events mixed in (default ${DEFAULT-VALUE})")
    int badEvents;

    @Option(names = "--seed", defaultValue = "1", description = "seed of the demo workload (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--input-file", paramLabel = "FILE", description = "replay a JSON-lines file of events instead")
    Path inputFile;

    @Option(names = "--out", paramLabel = "FILE", description = "write the committed results, sorted by stream and event")
    Path out;

    @Option(names = "--dead-letters", paramLabel = "FILE", description = "write the committed dead letters, one JSON "
            + "line each: the stream, the reason and the event as sent")
    Path deadLetters;

    @Option(names = "--stop-after", paramLabel = "N", description = "stop with a savepoint after the first N events")
    Integer stopAfter;

    @Option(names = "--savepoint-dir", paramLabel = "DIR", description = "where --stop-after writes its savepoint")
    Path savepointDir;

    @Option(names = "--from-savepoint", paramLabel = "DIR", description = "resume from a --stop-after savepoint")
    Path fromSavepoint;

    @Option(names = "--parallelism", defaultValue = "2", description = "operator parallelism (default ${DEFAULT-VALUE})")
    int parallelism;

    @Option(names = "--backend", defaultValue = "auto",
            description = "where the model runs: auto (the GPU when CUDA is usable, else the CPU), cpu, or cuda "
                + "(exit 3 when unusable); default ${DEFAULT-VALUE}")
    String backend;

    @Option(names = "--matmul-precision", defaultValue = "fp32",
            description = "GPU matrix products: fp32, tf32, bf16 or bf16-weights (default ${DEFAULT-VALUE})")
    String matmulPrecision;

    @Option(names = "--chunk-precision", defaultValue = "fp32",
            description = "the GPU's chunkwise gated delta rule: fp32, 3xtf32 or bf16 (default ${DEFAULT-VALUE})")
    String chunkPrecision;

    @Option(names = "--state-precision", defaultValue = "fp32",
            description = "how the GPU keeps the Gated DeltaNet states: fp32 or bf16 (default ${DEFAULT-VALUE})")
    String statePrecision;

    @Option(names = "--state-backend", defaultValue = "hashmap", description = "hashmap or rocksdb (default ${DEFAULT-VALUE})")
    String stateBackend;

    @Option(names = "--batch-max-keys", defaultValue = "256", description = "default ${DEFAULT-VALUE}")
    int batchMaxKeys;

    @Option(names = "--batch-max-delay", description = "flush a bundle once its oldest event waited this long "
            + "(default 20ms; 2ms with --delivery at-least-once)")
    String batchMaxDelay;

    @Option(names = "--checkpoint-interval", defaultValue = "2s",
            description = "results become visible at each checkpoint (default ${DEFAULT-VALUE})")
    String checkpointInterval;

    @Option(names = "--delivery", defaultValue = "exactly-once", description = "exactly-once (results visible at "
            + "each checkpoint) or at-least-once (results at once; a replay after a failure re-sends byte-identical "
            + "results) (default ${DEFAULT-VALUE})")
    String delivery;

    @Option(names = "--top-k", defaultValue = "5", description = "next tokens per result; 0 = off (default ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--emit-embedding", description = "add the final hidden state to each result")
    boolean emitEmbedding;

    @Option(names = "--bootstrap-servers", description = "your Kafka: run the job against it, produce nothing")
    String bootstrapServers;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "with --bootstrap-servers: where checkpoints and savepoints live; a start resumes from the "
                + "newest one there (default gdn-state/<group-id>)")
    Path stateDir;

    @Option(names = "--group-id", defaultValue = "gdn", description = "consumer group of the source (default ${DEFAULT-VALUE})")
    String groupId;

    @Option(names = "--kafka-timeout", defaultValue = "30s",
            description = "with --bootstrap-servers: how long to wait for Kafka to answer before failing (default ${DEFAULT-VALUE})")
    String kafkaTimeout;

    @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "any job option of the README's table, e.g. "
            + "--conf gdn.event.max-bytes=65536 (repeatable)")
    java.util.Map<String, String> conf = new java.util.LinkedHashMap<>();

    @Option(names = "--input-topic", defaultValue = "gdn-events", description = "default ${DEFAULT-VALUE}")
    String inputTopic;

    @Option(names = "--output-topic", defaultValue = "gdn-results", description = "default ${DEFAULT-VALUE}")
    String outputTopic;

    @Option(names = "--dead-letter-topic", defaultValue = "gdn-dead-letter", description = "default ${DEFAULT-VALUE}")
    String deadLetterTopic;

    @Option(names = "--inject-failure-after", paramLabel = "N", defaultValue = "0",
            description = "fail the job once after N events to watch it recover exactly once (0 = never)")
    long injectFailureAfter;

    @Option(names = "--rate", paramLabel = "EVENTS_PER_S", defaultValue = "0",
            description = "send events at this fixed rate and report p50/p99 latency (0 = all at once)")
    double rate;

    @Option(names = "--latency-warm-up", defaultValue = "10s", description = "with --rate: latency counts the events "
            + "sent this long after the first result (JIT compilation and the backlog it leaves come first); default "
            + "${DEFAULT-VALUE}")
    String latencyWarmUp;

    /** {@link #latencyWarmUp}, parsed with the other options before anything starts. */
    private Duration warmUp;

    @Option(names = "--stall-timeout", defaultValue = "120s", description = "give up after this long without results")
    String stallTimeout;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * Forced cuda where CUDA cannot work fails here, before anything starts (exit 3). Where the model
     * runs, and why auto fell back to the CPU, the operator logs once at INFO.
     */
    private void checkBackend() {
        Backends.usesCuda(backend, line -> { });
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        checkBackend();
        Path modelDir = model != null ? model : defaultModel();
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new IllegalArgumentException("--model " + modelDir + ": no config.json there");
        }
        if ((stopAfter == null) != (savepointDir == null)) {
            throw new IllegalArgumentException("--stop-after N and --savepoint-dir DIR go together");
        }
        Configuration c = new Configuration();
        c.set(GdnOptions.MODEL_PATH, modelDir.toAbsolutePath().toString());
        c.set(GdnOptions.STATE_BACKEND, stateBackend);
        c.set(GdnOptions.BACKEND, backend);
        c.set(GdnOptions.MATMUL_PRECISION, matmulPrecision);
        c.set(GdnOptions.CHUNK_PRECISION, chunkPrecision);
        c.set(GdnOptions.STATE_PRECISION, statePrecision);
        c.set(GdnOptions.BATCH_MAX_KEYS, batchMaxKeys);
        if (batchMaxDelay != null) {
            c.set(GdnOptions.BATCH_MAX_DELAY, Durations.parse(batchMaxDelay, "--batch-max-delay"));
        }
        c.set(GdnOptions.CHECKPOINT_INTERVAL, Durations.parse(checkpointInterval, "--checkpoint-interval"));
        warmUp = Durations.parse(latencyWarmUp, "--latency-warm-up");
        c.set(GdnOptions.TOP_K, topK);
        c.set(GdnOptions.DELIVERY, delivery);
        c.set(GdnOptions.EMIT_EMBEDDING, emitEmbedding);
        c.set(GdnOptions.INPUT_TOPIC, inputTopic);
        c.set(GdnOptions.OUTPUT_TOPIC, outputTopic);
        c.set(GdnOptions.DEAD_LETTER_TOPIC, deadLetterTopic);
        c.set(GdnOptions.GROUP_ID, groupId);
        for (var kv : conf.entrySet()) {
            if (!kv.getKey().startsWith("gdn.")) {
                throw new IllegalArgumentException("--conf " + kv.getKey() + ": only gdn.* options (see the README)");
            }
            c.setString(kv.getKey(), kv.getValue());
        }
        GdnOptions.validate(c);

        if (bootstrapServers != null) {
            c.set(GdnOptions.BOOTSTRAP_SERVERS, bootstrapServers);
            Path dir = stateDir != null ? stateDir : Path.of("gdn-state", groupId);
            return ExternalRun.run(new ExternalRun.Plan(c, parallelism, dir, Durations.parse(kafkaTimeout,
                    "--kafka-timeout"), Duration.ofMinutes(10)), o);
        }
        // checkpoints of an embedded run are of no use after it: gone at its end, Ctrl-C included
        try (dev.gdn.job.ScratchDir work = dev.gdn.job.ScratchDir.create("gdn-run")) {
            c.set(GdnOptions.CHECKPOINT_DIR, work.path().resolve("checkpoints").toUri().toString());
            return runEmbedded(c, o, err);
        }
    }

    private int runEmbedded(Configuration c, PrintWriter o, PrintWriter err) throws Exception {
        Path modelDir = Path.of(c.get(GdnOptions.MODEL_PATH));

        List<DemoEvent> all = inputFile != null ? EventFiles.read(inputFile, EmbeddedKafka.MAX_MESSAGE_BYTES - 1024)
                : RecallTask.generate(events, streams, badEvents, seed);
        checkLabels(all, modelDir);
        int done = 0;
        if (fromSavepoint != null) {
            ObjectNode marker = LocalRun.readMarker(fromSavepoint);
            done = marker.get("events_done").asInt();
            fromSavepoint = Path.of(marker.get("savepoint").asText().replaceFirst("^file:", ""));
            // a damaged snapshot record is refused here, naming the file, before a broker or job starts
            dev.gdn.run.Snapshots.checkpointId(fromSavepoint.resolve("_metadata"));
            if (done > all.size()) {
                throw new IllegalArgumentException("the savepoint covers " + done + " events but only " + all.size()
                        + " are given: use the same workload options as the run that took it");
            }
        }
        int upTo = stopAfter == null ? all.size() : Math.min(stopAfter, all.size());
        if (upTo < done) {
            throw new IllegalArgumentException("--stop-after " + upTo + " is before the savepoint's " + done + " events");
        }
        if (injectFailureAfter > 0 && injectFailureAfter >= upTo - done) {
            throw new IllegalArgumentException("--inject-failure-after " + injectFailureAfter + ": this run sends only "
                    + (upTo - done) + " events, so the failure would never fire");
        }
        err.println("gdn run: starting an embedded Kafka broker ...");
        err.flush();
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            String summaryTopic = c.get(GdnOptions.SUMMARY_TOPIC);
            if (summaryTopic.isEmpty()) {
                kafka.createTopics(parallelism, inputTopic, outputTopic, deadLetterTopic);
            } else {
                kafka.createTopics(parallelism, inputTopic, outputTopic, deadLetterTopic, summaryTopic);
                err.println("gdn run: summaries go to topic '" + summaryTopic + "' (read and counted here as well)");
            }
            c.set(GdnOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            err.printf("gdn run: %d events (%d already in the savepoint) over %s, model %s, parallelism %d%n",
                    upTo - done, done, inputFile != null ? inputFile : streams + " demo streams", modelDir,
                    parallelism);
            err.flush();
            LocalRun.Outcome result = LocalRun.run(new LocalRun.Plan(c, all, parallelism, done, upTo, savepointDir,
                    fromSavepoint, Durations.parse(stallTimeout, "--stall-timeout"), injectFailureAfter, rate,
                    warmUp), err);
            if (out != null) {
                Files.write(out, result.verdict().sortedResults());
            }
            if (deadLetters != null) {
                Files.write(deadLetters, deadLetterLines(result.deadLetters()));
            }
            if (!result.deadLetters().isEmpty()) {
                err.println(deadLetterSummary(result.deadLetters(), deadLetters));
                err.flush();
            }
            if (injectFailureAfter > 0) {
                err.println(dev.gdn.job.FailOnce.fired() ? "gdn run: the injected failure happened after "
                        + injectFailureAfter + " events; the job restarted from its last checkpoint and went on"
                        : "gdn run: the injected failure did not happen (fewer than " + injectFailureAfter
                        + " events reached it)");
                err.flush();
            }
            if (result.savepoint() != null) {
                o.println("savepoint: " + result.savepoint() + " (resume with --from-savepoint " + savepointDir + ")");
            }
            if (result.verdict().unexpected() > 0 || result.verdict().missing() > 0) {
                o.println("events without exactly one result or dead letter: missing=" + result.verdict().missing()
                        + " unexpected=" + result.verdict().unexpected());
            }
            if (rate > 0) {
                o.println(latencyLine(result, rate, GdnOptions.atLeastOnce(c), checkpointInterval, warmUp));
            }
            o.println(result.verdict().recallLine());
            if (result.verdict().classificationLine() != null) {
                o.println(result.verdict().classificationLine());
            }
            if (result.verdict().summaries() > 0 || result.verdict().policySummaries() > 0) {
                o.println(result.verdict().summaryLine());
            }
            o.println(result.verdict().runLine(result.elapsedSeconds()) + (GdnOptions.atLeastOnce(c)
                    ? " duplicates=" + result.duplicates() + " (byte-identical replays, dropped by (stream, id))" : ""));
            o.flush();
            return result.verdict().ok() ? 0 : 1;
        }
    }

    /**
     * Refuses, before anything starts, an input whose events carry a {@code "label"} that the model's
     * classification head does not have (a typo, or a head fitted for other classes): its accuracy would
     * count every such event wrong. Without a head, labels are not checked (the report says so).
     */
    static void checkLabels(List<DemoEvent> events, Path modelDir) {
        List<String> classes = dev.gdn.kernels.config.ModelConfig.load(modelDir).labels();
        if (classes.isEmpty()) {
            return;
        }
        for (DemoEvent e : events) {
            String label = dev.gdn.run.RunReport.label(e);
            if (label != null && !classes.contains(label)) {
                throw new IllegalArgumentException("event '" + e.id() + "' of stream '" + e.stream() + "' is labeled '"
                        + label + "', which is not a class of the model's classification head (id2label: "
                        + String.join(", ", classes) + ")");
            }
        }
    }

    /** One JSON line per dead letter: {@code {"stream", "reason", "event"}} (the event as sent, as text). */
    static List<String> deadLetterLines(List<dev.gdn.run.RunReport.Committed> dead) {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<String> lines = new java.util.ArrayList<>(dead.size());
        for (var d : dead) {
            lines.add(json.createObjectNode().put("stream", d.key()).put("reason", d.reason())
                    .put("event", d.value() == null ? null : new String(d.value(), java.nio.charset.StandardCharsets.UTF_8))
                    .toString());
        }
        return lines;
    }

    /**
     * {@code gdn run: N dead letters: 3 x <reason>; 1 x <reason>}, the most frequent reasons first (at
     * most five), and where they all are.
     */
    static String deadLetterSummary(List<dev.gdn.run.RunReport.Committed> dead, Path file) {
        Map<String, Long> byReason = new java.util.TreeMap<>();
        for (var d : dead) {
            byReason.merge(d.reason() == null ? "(no reason header)" : d.reason(), 1L, Long::sum);
        }
        String top = byReason.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(5).map(e -> e.getValue() + " x " + e.getKey())
                .collect(java.util.stream.Collectors.joining("; "));
        return "gdn run: " + dead.size() + " dead letter" + (dead.size() == 1 ? "" : "s") + ": " + top
                + (byReason.size() > 5 ? "; and " + (byReason.size() - 5) + " other reasons" : "")
                + (file == null ? " (--dead-letters FILE writes them all)" : " (all in " + file + ")");
    }

    /**
     * {@code latency: rate=.. p50_ms=.. p99_ms=.. max_ms=..} over the events sent from the warm-up's end on;
     * says so, with what to change, when the run sent none that late.
     */
    static String latencyLine(LocalRun.Outcome result, double rate, boolean atLeastOnce, String checkpointInterval,
            java.time.Duration warmUp) {
        if (result.latencyQuantile(0.5) < 0) {
            return String.format(java.util.Locale.ROOT, "latency: rate=%.0f/s not measured: no event was sent %d s or "
                    + "more after the first result (the warm-up); send more events (--events at least %.0f at this "
                    + "rate)", rate, warmUp.toSeconds(), rate * (warmUp.toMillis() / 1e3 + 20));
        }
        return String.format(java.util.Locale.ROOT, "latency: rate=%.0f/s p50_ms=%d p99_ms=%d max_ms=%d (send to %s "
                + "read, events sent from %d s after the first result, checkpoint interval %s)", rate,
                result.latencyQuantile(0.5), result.latencyQuantile(0.99), result.latencyQuantile(1.0),
                atLeastOnce ? "at-least-once" : "committed", warmUp.toSeconds(), checkpointInterval);
    }

    private static Path defaultModel() {
        String home = System.getProperty("gdn.home");
        return (home == null ? Path.of(".") : Path.of(home)).resolve("models/recall");
    }
}
