package dev.gdn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gdn.job.FlinkSettings;
import dev.gdn.job.GdnJob;
import dev.gdn.job.GdnJobMain;
import dev.gdn.job.KafkaPreflight;
import dev.gdn.job.RootCause;
import dev.gdn.operator.GdnOptions;
import dev.gdn.operator.OperatorStats;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The job against a user's Kafka, exactly once across restarts of the same command.
 *
 * <p>Everything that must survive a restart lives in one state directory: {@code checkpoints/}
 * (retained when the job is cancelled or the process dies), {@code savepoints/} (written by a graceful
 * stop) and {@code gdn-state.json} (the topics and consumer group it belongs to). A start resumes from
 * the newest complete snapshot there, savepoint or checkpoint, by itself: the Kafka offsets and the
 * stream memories come from that one snapshot, and the sinks' transactions after it are aborted, so no
 * result is written twice. SIGINT (Ctrl-C) or SIGTERM stops the job with a savepoint and says where.
 */
public final class ExternalRun {
    /** The state directory's description of what it belongs to. */
    public static final String STATE_MARKER = "gdn-state.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What to run: the job's options, its parallelism, the state directory, Kafka and stop time limits. */
    public record Plan(Configuration options, int parallelism, Path stateDir, Duration kafkaTimeout,
            Duration stopTimeout) {
    }

    private ExternalRun() {
    }

    /**
     * Checks Kafka and the state directory, starts (or resumes) the job and runs it until it fails or a
     * stop signal arrives.
     *
     * @return 0 after a graceful stop with a savepoint
     * @throws IllegalArgumentException for a missing topic, a state directory of other topics, offsets
     *     without their snapshot
     * @throws IllegalStateException when Kafka does not answer, or the job fails (its root cause)
     */
    public static int run(Plan plan, PrintWriter out) throws Exception {
        Configuration c = plan.options();
        String servers = c.get(GdnOptions.BOOTSTRAP_SERVERS);
        String input = c.get(GdnOptions.INPUT_TOPIC);
        String group = c.get(GdnOptions.GROUP_ID);
        Path stateDir = plan.stateDir().toAbsolutePath().normalize();
        // every _metadata is read once, here: the marker check and the resume both use the result
        Optional<Snapshots.Snapshot> newest = latest(stateDir);
        checkMarker(stateDir, c, newest);
        Optional<Path> snapshot = newest.map(Snapshots.Snapshot::dir);
        c.set(GdnOptions.KAFKA_CHECK_TIMEOUT, plan.kafkaTimeout());
        GdnJobMain.checkKafka(c);
        try (KafkaPreflight kafka = new KafkaPreflight(servers, plan.kafkaTimeout())) {
            if (snapshot.isEmpty() && kafka.groupHasOffsets(group, input)) {
                throw new IllegalArgumentException("consumer group '" + group + "' has committed offsets on '" + input
                        + "' but --state-dir " + stateDir + " holds no checkpoint or savepoint: the stream memories "
                        + "that go with those offsets are elsewhere. Point --state-dir at them, or start over from "
                        + "the beginning of the topic with a new --group-id");
            }
        }
        writeMarker(stateDir, c);

        c.set(GdnOptions.CHECKPOINT_DIR, stateDir.resolve("checkpoints").toUri().toString());
        Configuration flink = FlinkSettings.ofLongRunning(c);
        flink.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        if (snapshot.isPresent()) {
            flink.set(StateRecoveryOptions.SAVEPOINT_PATH, snapshot.get().toUri().toString());
            flink.set(StateRecoveryOptions.RESTORE_MODE, RecoveryClaimMode.CLAIM);
            out.println("resuming from " + snapshot.get());
        } else {
            out.println("starting from the beginning of '" + input + "' (no snapshot in " + stateDir + " yet)");
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(plan.parallelism(), flink);
        GdnJob.build(env, c);

        CompletableFuture<String> stop = new CompletableFuture<>();
        StopSignals.install(stop);
        JobClient job = env.executeAsync("gdn");
        CompletableFuture<JobExecutionResult> finished = job.getJobExecutionResult();
        out.println("running against " + servers + ": " + input + " -> " + c.get(GdnOptions.OUTPUT_TOPIC)
                + " (dead letters: " + c.get(GdnOptions.DEAD_LETTER_TOPIC) + "), state in " + stateDir
                + "; results appear at each checkpoint (every " + c.get(GdnOptions.CHECKPOINT_INTERVAL).toMillis()
                + " ms); Ctrl-C or SIGTERM stops with a savepoint");
        out.flush();
        awaitStopOrEnd(stop, finished, out);
        if (!stop.isDone()) {
            try {
                finished.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("the job failed: " + RootCause.jobFailure(e, snapshot.orElse(null)));
            }
            throw new IllegalStateException("the job ended by itself (was it cancelled from outside?)");
        }
        out.println("stopping with a savepoint (" + stop.get() + ") ...");
        out.flush();
        String savepoint;
        try {
            savepoint = job.stopWithSavepoint(false, stateDir.resolve("savepoints").toUri().toString(),
                    SavepointFormatType.CANONICAL).get(plan.stopTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            try {
                job.cancel().get(1, TimeUnit.MINUTES);
            } catch (Exception ignored) {
                // the job may have failed already; the stop's failure is what matters
            }
            throw new IllegalStateException("the stop with a savepoint failed (" + RootCause.line(e)
                    + "); the next start resumes from the newest retained checkpoint in " + stateDir);
        }
        out.println("stopped: savepoint " + savepoint.replaceFirst("^file:", "")
                + "; the next `gdn run` with --state-dir " + stateDir + " resumes from it");
        out.flush();
        return 0;
    }

    /** How often a running job prints its progress line ({@code -Dgdn.progress.interval-ms}). */
    static final long PROGRESS_MILLIS = Long.getLong("gdn.progress.interval-ms", 10_000);

    /**
     * Waits for a stop signal or the job's end, with a progress line every {@link #PROGRESS_MILLIS} while
     * the count of answered events moves (and the first time), and once more when asked to stop: what the
     * job has done, from the operators of this JVM (the job runs in it).
     */
    private static void awaitStopOrEnd(CompletableFuture<String> stop, CompletableFuture<JobExecutionResult> finished,
            PrintWriter out) throws Exception {
        long start = System.nanoTime();
        long resultsAtStart = OperatorStats.results();
        long checkpointsAtStart = OperatorStats.checkpointsCompleted();
        long shown = -1;
        CompletableFuture<Object> either = CompletableFuture.anyOf(stop, finished).exceptionally(e -> null);
        while (true) {
            boolean stopping = false;
            try {
                either.get(PROGRESS_MILLIS, TimeUnit.MILLISECONDS);
                // asked to stop: where the job stands then, if that moved since the last line
                stopping = true;
            } catch (java.util.concurrent.TimeoutException e) {
                // time for a progress line
            }
            long answered = OperatorStats.results() - resultsAtStart;
            if (answered != shown && (!stopping || stop.isDone())) {
                shown = answered;
                out.printf(java.util.Locale.ROOT, "progress: %,d events answered, %,d checkpoints completed (each "
                        + "commits the results before it) after %.1f s%n", answered,
                        OperatorStats.checkpointsCompleted() - checkpointsAtStart, (System.nanoTime() - start) / 1e9);
                out.flush();
            }
            if (stopping) {
                return;
            }
        }
    }

    /**
     * The newest complete snapshot in the state directory: a savepoint of a graceful stop, or a
     * checkpoint retained after a cancellation or a crash (complete once its {@code _metadata} exists),
     * chosen by the checkpoint id Flink recorded in it, never by file times.
     */
    public static Optional<Path> latestSnapshot(Path stateDir) throws IOException {
        return latest(stateDir).map(Snapshots.Snapshot::dir);
    }

    private static Optional<Snapshots.Snapshot> latest(Path stateDir) throws IOException {
        Optional<Snapshots.Snapshot> savepoint = Snapshots.newestSnapshot(stateDir.resolve("savepoints"));
        Optional<Snapshots.Snapshot> checkpoint = Snapshots.newestSnapshot(stateDir.resolve("checkpoints"));
        if (savepoint.isEmpty() || checkpoint.isEmpty()) {
            return savepoint.isPresent() ? savepoint : checkpoint;
        }
        return savepoint.get().checkpointId() >= checkpoint.get().checkpointId() ? savepoint : checkpoint;
    }

    private static void checkMarker(Path stateDir, Configuration c, Optional<Snapshots.Snapshot> newest) {
        Path marker = stateDir.resolve(STATE_MARKER);
        if (!Files.isRegularFile(marker)) {
            if (newest.isPresent()) {
                throw new IllegalArgumentException("--state-dir " + stateDir + " holds snapshots but no " + STATE_MARKER
                        + ": not a gdn state directory");
            }
            return;
        }
        JsonNode m;
        try {
            m = JSON.readTree(marker.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(marker + " is not readable JSON: " + RootCause.line(e));
        }
        String input = m.path("input_topic").asText(null);
        String group = m.path("group_id").asText(null);
        if (!c.get(GdnOptions.INPUT_TOPIC).equals(input) || !c.get(GdnOptions.GROUP_ID).equals(group)) {
            throw new IllegalArgumentException("--state-dir " + stateDir + " belongs to input topic '" + input
                    + "' and group '" + group + "', not to '" + c.get(GdnOptions.INPUT_TOPIC) + "' and '"
                    + c.get(GdnOptions.GROUP_ID) + "': give each job its own state directory");
        }
        String was = m.path("state_dir").asText(null);
        if (was != null && !Path.of(was).equals(stateDir)) {
            if (newest.isPresent() && newest.get().dir().startsWith(stateDir.resolve("checkpoints"))) {
                throw new IllegalArgumentException("--state-dir " + stateDir + " was moved from " + was
                        + ", and its newest snapshot (" + newest.get().dir().getFileName() + ", checkpoint "
                        + newest.get().checkpointId() + ") is a retained checkpoint, whose files Flink names by "
                        + "absolute path under " + was + ": move the folder back to resume from it. A state "
                        + "directory can be moved after a graceful stop (Ctrl-C or SIGTERM), whose savepoint "
                        + "names its files relative to itself");
            }
        }
    }

    private static void writeMarker(Path stateDir, Configuration c) throws IOException {
        Files.createDirectories(stateDir);
        ObjectNode m = JSON.createObjectNode()
                .put("input_topic", c.get(GdnOptions.INPUT_TOPIC))
                .put("group_id", c.get(GdnOptions.GROUP_ID))
                .put("output_topic", c.get(GdnOptions.OUTPUT_TOPIC))
                .put("dead_letter_topic", c.get(GdnOptions.DEAD_LETTER_TOPIC))
                .put("bootstrap_servers", c.get(GdnOptions.BOOTSTRAP_SERVERS))
                .put("state_dir", stateDir.toString());
        Files.writeString(stateDir.resolve(STATE_MARKER), m.toPrettyString());
    }
}
