package dev.gdn.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.demo.DemoEvent;
import dev.gdn.demo.RecallTask;
import dev.gdn.job.GdnJobMain;
import dev.gdn.operator.GdnOptions;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The slim job jar on a Flink cluster of separate JVMs (a JobManager, TaskManagers), against a Kafka
 * broker in a JVM of its own ({@code kafka.Kafka} with a {@code server.properties}), RocksDB state with
 * incremental checkpoints: TaskManagers killed with
 * SIGKILL mid-stream and replaced, a rescale 2 -> 3 -> 1 through stop-with-savepoint and resubmission,
 * and an upgrade to another model. The committed output must equal a failure-free run's record for
 * record (the CPU backend reproduces the same bytes), and the cluster's own settings must reach the job.
 * Each TaskManager is given a GPU of its own by its own {@code gdn.cuda.device} (one GPU per TaskManager
 * without Flink's GPU plugin), a replacement the GPU of the one it replaces: every subtask must choose its
 * TaskManager's (logged; the CPU backend runs the model, so no GPU is needed).
 */
@Tag("cluster")
@Timeout(1200)
class ClusterIT {
    static final Path MODEL = Path.of("../models/recall").toAbsolutePath().normalize();
    static final Path JOB_JAR = Path.of("../flink-operator/target/gdn-job.jar").toAbsolutePath();
    static final List<DemoEvent> EVENTS = RecallTask.generate(800, 16, 8, 21);
    static KafkaBrokerProcess broker;
    static String servers;

    @TempDir
    static Path dir;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = KafkaBrokerProcess.start(dir.resolve("kafka"));
        servers = broker.bootstrapServers();
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
        try (Admin admin = Admin.create(p)) {
            List<NewTopic> topics = new ArrayList<>();
            for (String t : List.of("cl-in", "cl-out", "cl-dlq", "ref-in", "ref-out", "ref-dlq")) {
                topics.add(new NewTopic(t, 4, (short) 1));
            }
            admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.close();
        }
    }

    /** The failure-free reference: the same events through the job in one local run. */
    static List<String> reference() throws Exception {
        Configuration c = new Configuration();
        c.set(GdnOptions.MODEL_PATH, MODEL.toString());
        c.set(GdnOptions.BOOTSTRAP_SERVERS, servers);
        c.set(GdnOptions.INPUT_TOPIC, "ref-in");
        c.set(GdnOptions.OUTPUT_TOPIC, "ref-out");
        c.set(GdnOptions.DEAD_LETTER_TOPIC, "ref-dlq");
        c.set(GdnOptions.GROUP_ID, "ref");
        c.set(GdnOptions.TRANSACTIONAL_ID_PREFIX, "ref");
        c.set(GdnOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        c.set(GdnOptions.CHECKPOINT_DIR, dir.resolve("ref").toUri().toString());
        c.set(GdnOptions.CPU_THREADS, 1);
        c.set(GdnOptions.BACKEND, "cpu");
        StringWriter log = new StringWriter();
        LocalRun.Outcome o = LocalRun.run(new LocalRun.Plan(c, EVENTS, 2, 0, EVENTS.size(), null, null,
                Duration.ofSeconds(180), 0, 0), new PrintWriter(log));
        assertThat(o.verdict().ok()).as(log.toString()).isTrue();
        return o.verdict().sortedResults();
    }

    static List<String> jobArgs(Path model, String... more) {
        List<String> a = new ArrayList<>(List.of("--gdn.model.path", model.toString(),
                "--gdn.kafka.bootstrap-servers", servers, "--gdn.kafka.input-topic", "cl-in",
                "--gdn.kafka.output-topic", "cl-out", "--gdn.kafka.dead-letter-topic", "cl-dlq",
                "--gdn.kafka.group-id", "cl", "--gdn.kafka.transactional-id-prefix", "cl",
                "--gdn.backend", "cpu", "--gdn.cpu.threads", "1"));
        a.addAll(List.of(more));
        return a;
    }

    /** Committed answers (results and dead letters) as they arrive, with the time each arrived. */
    static final class Answers implements AutoCloseable {
        final KafkaConsumer<byte[], byte[]> consumer = LocalRun.committedReader(servers);
        final List<RunReport.Committed> results = new ArrayList<>();
        final List<RunReport.Committed> dead = new ArrayList<>();
        final List<Long> arrivals = new ArrayList<>();

        Answers() {
            List<TopicPartition> parts = new ArrayList<>(LocalRun.partitions(consumer, "cl-out"));
            parts.addAll(LocalRun.partitions(consumer, "cl-dlq"));
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
        }

        int count() {
            return results.size() + dead.size();
        }

        void poll() {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                if (r.topic().equals("cl-out")) {
                    results.add(new RunReport.Committed(new String(r.key(), StandardCharsets.UTF_8), r.value()));
                } else {
                    dead.add(RunReport.Committed.deadLetter(r));
                }
                arrivals.add(System.nanoTime());
            }
        }

        void awaitAtLeast(int n, ProcessCluster cluster, String jobId) throws Exception {
            long until = System.nanoTime() + Duration.ofSeconds(240).toNanos();
            while (count() < n) {
                poll();
                if (System.nanoTime() > until) {
                    throw new AssertionError(count() + " of " + n + " answers committed in time; job " + jobId + " is "
                            + cluster.status(jobId) + "; exceptions: " + cluster.get("/jobs/" + jobId + "/exceptions")
                            + "\nJobManager log:\n" + cluster.log("jobmanager"));
                }
            }
        }

        /** Polls for {@code millis} more, catching anything committed late (a duplicate would show). */
        void drain(long millis) {
            long until = System.nanoTime() + millis * 1_000_000;
            while (System.nanoTime() < until) {
                poll();
            }
        }

        /** Seconds from {@code t} to the first answer committed after it. */
        double secondsToNextAnswerAfter(long t) {
            return arrivals.stream().filter(a -> a > t).findFirst().map(a -> (a - t) / 1e9).orElse(Double.NaN);
        }

        @Override
        public void close() {
            consumer.close();
        }
    }

    @Test
    void killedTaskManagersRescalesAndAModelUpgradeKeepTheOutputOfAFailureFreeRun() throws Exception {
        List<String> clean = reference();
        Path report = dir.resolve("report.txt");
        Map<String, String> conf = Map.of(
                // one slot a TaskManager: at parallelism 2 both TaskManagers run tasks, so every kill hits the job
                "taskmanager.numberOfTaskSlots", "1",
                "parallelism.default", "2",
                "state.backend.type", "rocksdb",
                "execution.checkpointing.incremental", "true",
                // a cluster-level setting the job must not override
                "execution.checkpointing.interval", "700ms",
                "execution.checkpointing.dir", dir.resolve("checkpoints").toUri().toString(),
                "execution.checkpointing.savepoint-dir", dir.resolve("savepoints").toUri().toString(),
                "restart-strategy.type", "fixed-delay",
                "restart-strategy.fixed-delay.attempts", "50",
                "restart-strategy.fixed-delay.delay", "1s");
        try (ProcessCluster cluster = ProcessCluster.start(dir.resolve("cluster"), conf,
                List.of(gpu(0), gpu(1))); Answers answers = new Answers()) {
            Map<String, Integer> gpuOf = new java.util.HashMap<>(Map.of("taskmanager-1", 0, "taskmanager-2", 1));
            String jar = cluster.upload(JOB_JAR);
            LocalRun.produce(servers, "cl-in", EVENTS.subList(0, 50));
            // the first submission through deploy/standalone.sh, as a user submits to a standalone cluster
            String job = submitWithStandaloneScript(cluster, jobArgs(MODEL));
            cluster.awaitRunning(job, Duration.ofSeconds(120));
            var checkpoints = cluster.get("/jobs/" + job + "/checkpoints/config");
            assertThat(checkpoints.get("interval").asLong()).as("the cluster's checkpoint interval reached the job: %s",
                    checkpoints).isEqualTo(700);

            // three TaskManager kills (SIGKILL) at random moments while events stream in (15 a second), each followed
            // by a replacement TaskManager. The producer keeps 20 events back for every kill still to come and sends
            // them once that kill has happened: however long recoveries take on a slow machine, every kill falls
            // before the input is complete, and events arrive after every kill for the recovered job to answer
            var kills = new java.util.concurrent.Semaphore(0); // a permit for every kill made
            var producer = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    var sentAt = new java.util.concurrent.ConcurrentHashMap<String, Long>();
                    LocalRun.producePaced(servers, "cl-in", EVENTS, 50, 440, 15, sentAt);
                    for (int held = 3; held >= 1; held--) {
                        if (!kills.tryAcquire(600, TimeUnit.SECONDS)) {
                            throw new IllegalStateException("kill " + (4 - held) + " did not come within 600 s");
                        }
                        LocalRun.producePaced(servers, "cl-in", EVENTS, 500 - 20 * held, 520 - 20 * held, 15, sentAt);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Random rnd = new Random(3);
            List<String> recoveries = new ArrayList<>();
            for (int kill = 0; kill < 3; kill++) {
                long pause = System.nanoTime() + (2000 + rnd.nextInt(2000)) * 1_000_000L;
                while (System.nanoTime() < pause) {
                    answers.poll();
                }
                List<Process> alive = cluster.taskManagers();
                Process victim = alive.get(rnd.nextInt(alive.size()));
                int before = answers.count();
                assertThat(producer).as("the kill falls while events still stream in").isNotDone();
                int failures = cluster.get("/jobs/" + job + "/exceptions").path("exceptionHistory").path("entries").size();
                long killedAt = System.currentTimeMillis();
                cluster.kill(victim);
                kills.release(); // the events held for this kill stream in while the job recovers
                int victimsGpu = gpuOf.get(cluster.nameOf(victim));
                gpuOf.put(cluster.nameOf(cluster.startTaskManager(gpu(victimsGpu))), victimsGpu); // on the same GPU
                long recovered = cluster.awaitCheckpointTriggeredAfter(job, killedAt, Duration.ofSeconds(120));
                assertThat(cluster.get("/jobs/" + job + "/exceptions").path("exceptionHistory").path("entries").size())
                        .as("the job noticed the lost TaskManager and restarted").isGreaterThan(failures);
                answers.awaitAtLeast(before + 1, cluster, job);
                recoveries.add(String.format(Locale.ROOT, "kill -9 of a TaskManager after %d of 500 answers: restarted "
                        + "and the next checkpoint completed %.1f s after the kill", before, (recovered - killedAt) / 1e3));
            }
            producer.get(120, TimeUnit.SECONDS);
            answers.awaitAtLeast(500, cluster, job);

            // rescale 2 -> 3 -> 1 through stop-with-savepoint and resubmission
            String sp = cluster.stopWithSavepoint(job, dir.resolve("savepoints"));
            gpuOf.put(cluster.nameOf(cluster.startTaskManager(gpu(2))), 2); // a third slot, a third GPU
            cluster.awaitTaskManagers(3, Duration.ofSeconds(120));
            job = cluster.run(jar, GdnJobMain.class.getName(), jobArgs(MODEL), 3, sp);
            cluster.awaitRunning(job, Duration.ofSeconds(120));
            LocalRun.produce(servers, "cl-in", EVENTS.subList(500, 650));
            answers.awaitAtLeast(650, cluster, job);
            sp = cluster.stopWithSavepoint(job, dir.resolve("savepoints"));
            job = cluster.run(jar, GdnJobMain.class.getName(), jobArgs(MODEL), 1, sp);
            cluster.awaitRunning(job, Duration.ofSeconds(120));
            LocalRun.produce(servers, "cl-in", EVENTS.subList(650, EVENTS.size()));
            answers.awaitAtLeast(EVENTS.size(), cluster, job);
            answers.drain(3_000);
            sp = cluster.stopWithSavepoint(job, dir.resolve("savepoints"));

            RunReport.Verdict v = new RunReport(EVENTS).check(answers.results, answers.dead);
            assertThat(v.missing()).as("events without an answer").isZero();
            assertThat(v.unexpected()).as("answers twice or for no event").isZero();
            assertThat(v.sortedResults()).as("the committed results equal the failure-free run's, record for record")
                    .isEqualTo(clean);

            // an upgrade to another model: refused, naming both models
            Path other = dir.resolve("other-model");
            copyWithChangedWeights(MODEL, other);
            String refused = cluster.run(jar, GdnJobMain.class.getName(), jobArgs(other), 1, sp);
            String why = rootCause(awaitException(cluster, refused));
            assertThat(why).as("the refusal names the model change").containsIgnoringCase("model");
            cluster.cancel(refused);
            // ... or, by option, accepted with those streams started afresh
            String reset = cluster.run(jar, GdnJobMain.class.getName(),
                    jobArgs(other, "--gdn.state.on-model-change", "reset"), 1, sp);
            cluster.awaitRunning(reset, Duration.ofSeconds(120));
            cluster.awaitCheckpointTriggeredAfter(reset, System.currentTimeMillis(), Duration.ofSeconds(60));
            assertThat(cluster.status(reset)).isEqualTo("RUNNING");
            cluster.cancel(reset);

            String devices = checkEachSubtaskTookItsTaskManagersGpu(cluster, gpuOf);
            Files.writeString(report, String.join("\n", recoveries) + "\n" + devices + "\nmodel change: refused: " + why
                    + "\nmodel change with --gdn.state.on-model-change reset: running, checkpointing\n",
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            System.out.println(Files.readString(report));
        }
    }

    /** A TaskManager's own GPU: its {@code gdn.cuda.device}. */
    static Map<String, String> gpu(int device) {
        return Map.of(GdnOptions.CUDA_DEVICE.key(), String.valueOf(device));
    }

    private static final java.util.regex.Pattern CHOICE = java.util.regex.Pattern.compile(
            "subtask \\d+ of \\d+: model .* GPU (\\d+) \\(chosen by (.*)\\)");

    /**
     * Every subtask's GPU choice in every TaskManager's log names that TaskManager's GPU, chosen by its own
     * option; the TaskManagers that ran subtasks cover at least two GPUs. Returns a line for the report.
     */
    static String checkEachSubtaskTookItsTaskManagersGpu(ProcessCluster cluster, Map<String, Integer> gpuOf) {
        java.util.TreeMap<Integer, Integer> choicesPerGpu = new java.util.TreeMap<>();
        for (Map.Entry<String, Integer> tm : gpuOf.entrySet()) {
            for (String line : cluster.log(tm.getKey()).split("\n")) {
                java.util.regex.Matcher m = CHOICE.matcher(line);
                if (m.find()) {
                    assertThat(Integer.parseInt(m.group(1))).as("%s (GPU %d): %s", tm.getKey(), tm.getValue(), line)
                            .isEqualTo(tm.getValue());
                    assertThat(m.group(2)).isEqualTo("the TaskManager's gdn.cuda.device = " + tm.getValue());
                    choicesPerGpu.merge(tm.getValue(), 1, Integer::sum);
                }
            }
        }
        assertThat(choicesPerGpu.keySet()).as("GPUs whose TaskManagers opened subtasks").hasSizeGreaterThanOrEqualTo(2);
        return "subtasks opened per GPU (each on its TaskManager's own): " + choicesPerGpu;
    }

    /**
     * Runs {@code deploy/standalone.sh} (parallelism 2, as the cluster's default) with {@code args}
     * against the cluster through Flink's own client; returns the job id it printed.
     */
    static String submitWithStandaloneScript(ProcessCluster cluster, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", Path.of("../deploy/standalone.sh").toAbsolutePath().toString()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("standalone.log").toFile());
        pb.environment().put("FLINK_HOME", cluster.flinkHome().toString());
        Process p = pb.start();
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("standalone.sh returned").isTrue();
        String out = Files.readString(dir.resolve("standalone.log"));
        assertThat(p.exitValue()).as("standalone.sh exit code; its output:%n%s", out).isZero();
        var m = java.util.regex.Pattern.compile("JobID ([0-9a-f]{32})").matcher(out);
        assertThat(m.find()).as("standalone.sh printed the job id:%n%s", out).isTrue();
        return m.group(1);
    }

    /** The innermost "Caused by" of a stack trace's text (its first line when it has none). */
    static String rootCause(String trace) {
        String cause = trace.lines().findFirst().orElse(trace);
        for (String line : trace.lines().toList()) {
            if (line.startsWith("Caused by: ")) {
                cause = line.substring("Caused by: ".length());
            }
        }
        return cause;
    }

    /** Waits for the job's first recorded exception and returns its root cause text. */
    static String awaitException(ProcessCluster cluster, String jobId) throws Exception {
        long until = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < until) {
            var ex = cluster.get("/jobs/" + jobId + "/exceptions");
            var root = ex.path("root-exception");
            if (!root.isMissingNode() && !root.isNull() && !root.asText().isEmpty()) {
                return root.asText();
            }
            var history = ex.path("exceptionHistory").path("entries");
            if (history.size() > 0) {
                return history.get(0).path("stacktrace").asText();
            }
            Thread.sleep(300);
        }
        throw new AssertionError("job " + jobId + " recorded no exception; it is " + cluster.status(jobId));
    }

    /** A copy of {@code model} whose last weight bytes differ: the same shapes, another fingerprint. */
    static void copyWithChangedWeights(Path model, Path to) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(model)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        Path weights = to.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(weights);
        for (int i = b.length - 16; i < b.length; i++) {
            b[i] ^= 0x01;
        }
        Files.write(weights, b);
    }
}
