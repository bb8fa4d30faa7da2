package dev.gdn.run;


import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.demo.DemoEvent;
import dev.gdn.demo.RecallTask;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gdn run --bootstrap-servers} against a Kafka broker in a process of its own, the way a user
 * runs it against their Kafka: the same command started three times over one state directory (stopped
 * by SIGTERM, killed with SIGKILL, stopped by SIGTERM again), with events produced in between. Every
 * event must have exactly one committed result or dead letter, and the memories must carry over (the
 * recall answers need facts stored before each restart).
 */
@Timeout(600)
class ExternalKafkaRestartTest {
    static final Path MODEL = Path.of("../models/recall").toAbsolutePath().normalize();
    static Process broker;
    static String servers;

    @TempDir
    static Path dir;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = java(List.of(EmbeddedKafka.class.getName()), dir.resolve("broker.log"), false);
        BufferedReader out = new BufferedReader(new InputStreamReader(broker.getInputStream(), StandardCharsets.UTF_8));
        long until = System.currentTimeMillis() + 120_000;
        String line;
        while ((line = out.readLine()) != null && System.currentTimeMillis() < until) {
            if (line.startsWith("bootstrap.servers=")) {
                servers = line.substring("bootstrap.servers=".length());
                break;
            }
        }
        assertThat(servers).as("the broker process printed its address").isNotNull();
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
        try (Admin admin = Admin.create(p)) {
            admin.createTopics(List.of(new NewTopic("ext-in", 2, (short) 1), new NewTopic("ext-out", 2, (short) 1),
                    new NewTopic("ext-dlq", 2, (short) 1))).all().get(60, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.getOutputStream().close();
            if (!broker.waitFor(30, TimeUnit.SECONDS)) {
                broker.destroyForcibly();
            }
        }
    }

    /** A JVM on this test's class path running {@code main}; stdout is piped or sent to {@code log}. */
    static Process java(List<String> mainAndArgs, Path log, boolean redirectOut) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dgdn.progress.interval-ms=1000",
                // the job's own logging (the test kit's log4j2-test config on this class path silences it):
                // warnings and errors, so that a failure's log says what the job went through
                "-Dlog4j2.configurationFile=" + Path.of("src/main/resources/log4j2.xml").toAbsolutePath(),
                "-Dgdn.log.level.root=WARN",
                "-cp", System.getProperty("java.class.path")));
        cmd.addAll(mainAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(log.toFile());
        if (redirectOut) {
            pb.redirectOutput(log.resolveSibling(log.getFileName() + ".out").toFile());
        }
        return pb.start();
    }

    static Process gdnRun(Path stateDir, String name) throws IOException {
        return gdnRun(servers, dir, stateDir, name);
    }

    /** {@code gdn run} against {@code servers} in a JVM of its own, its output in {@code logDir/name.log*}. */
    static Process gdnRun(String servers, Path logDir, Path stateDir, String name) throws IOException {
        return java(List.of("dev.gdn.cli.GdnCli", "run", "--bootstrap-servers", servers, "--model", MODEL.toString(),
                "--input-topic", "ext-in", "--output-topic", "ext-out", "--dead-letter-topic", "ext-dlq",
                "--state-dir", stateDir.toString(), "--checkpoint-interval", "500ms", "--parallelism", "2",
                "--conf", "gdn.cpu.threads=2"), logDir.resolve(name + ".log"), true);
    }

    /** Reads committed results and dead letters until {@code n} are there (or the time is up). */
    static void awaitAnswers(KafkaConsumer<byte[], byte[]> c, List<RunReport.Committed> results,
            List<RunReport.Committed> dead, int n, Process job, String name) throws Exception {
        awaitAnswers(c, results, dead, n, job, dir, name);
    }

    /** As above, for a job whose log is in {@code logDir}. */
    static void awaitAnswers(KafkaConsumer<byte[], byte[]> c, List<RunReport.Committed> results,
            List<RunReport.Committed> dead, int n, Process job, Path logDir, String name) throws Exception {
        awaitAnswers(c, results, dead, n, job, logDir, name, Duration.ofMinutes(3));
    }

    /** As above, waiting at most {@code within}. */
    static void awaitAnswers(KafkaConsumer<byte[], byte[]> c, List<RunReport.Committed> results,
            List<RunReport.Committed> dead, int n, Process job, Path logDir, String name, Duration within)
            throws Exception {
        long until = System.currentTimeMillis() + within.toMillis();
        while (results.size() + dead.size() < n) {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                if (r.topic().equals("ext-out")) {
                    results.add(new RunReport.Committed(new String(r.key(), StandardCharsets.UTF_8), r.value()));
                } else {
                    dead.add(RunReport.Committed.deadLetter(r));
                }
            }
            assertThat(job.isAlive()).as("%s is running; its log:%n%s", name, log(logDir, name)).isTrue();
            assertThat(System.currentTimeMillis()).as("%s answered %d of %d in time; log:%n%s", name,
                    results.size() + dead.size(), n, log(logDir, name)).isLessThan(until);
        }
    }

    static String log(String name) {
        return log(dir, name);
    }

    static String log(Path logDir, String name) {
        try {
            return tail(Files.readString(logDir.resolve(name + ".log")), 120) + Files.readString(logDir.resolve(name
                    + ".log.out"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** The last {@code n} lines of {@code text}. */
    static String tail(String text, int n) {
        String[] lines = text.split("\n", -1);
        return lines.length <= n ? text
                : "(" + (lines.length - n) + " earlier lines)\n" + String.join("\n",
                        java.util.Arrays.copyOfRange(lines, lines.length - n, lines.length));
    }

        static int stop(Process p) throws InterruptedException {
        p.destroy(); // SIGTERM
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("the job stopped after SIGTERM").isTrue();
        return p.exitValue();
    }

    @Test
    void threeStartsOfTheSameCommandAnswerEveryEventExactlyOnce() throws Exception {
        List<DemoEvent> events = RecallTask.generate(600, 12, 6, 11);
        Path stateDir = dir.resolve("state");
        List<RunReport.Committed> results = new ArrayList<>();
        List<RunReport.Committed> dead = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = LocalRun.committedReader(servers)) {
            List<TopicPartition> parts = new ArrayList<>(LocalRun.partitions(c, "ext-out"));
            parts.addAll(LocalRun.partitions(c, "ext-dlq"));
            c.assign(parts);
            c.seekToBeginning(parts);

            LocalRun.produce(servers, "ext-in", events.subList(0, 200));
            Process first = gdnRun(stateDir, "first");
            awaitAnswers(c, results, dead, 200, first, "first");
            assertThat(stop(first)).as(log("first")).isZero();
            assertThat(log("first")).contains("starting from the beginning of 'ext-in'")
                    .containsPattern("progress: [1-9][\\d,]* events answered, \\d+ checkpoints completed")
                    .containsPattern("stopped: savepoint .*savepoints.*; the next `gdn run` with --state-dir");

            LocalRun.produce(servers, "ext-in", events.subList(200, 400));
            Process second = gdnRun(stateDir, "second");
            awaitAnswers(c, results, dead, 300, second, "second");
            // a crash: no savepoint; the next start resumes from the newest retained checkpoint
            second.destroyForcibly();
            second.waitFor(60, TimeUnit.SECONDS);
            assertThat(log("second")).contains("resuming from " + stateDir.resolve("savepoints"));

            LocalRun.produce(servers, "ext-in", events.subList(400, 600));
            Process third = gdnRun(stateDir, "third");
            awaitAnswers(c, results, dead, 600, third, "third");
            assertThat(log("third")).contains("resuming from " + stateDir);
            // anything extra committed late would show up here
            long quiet = System.currentTimeMillis() + 3_000;
            while (System.currentTimeMillis() < quiet) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.topic().equals("ext-out")) {
                        results.add(new RunReport.Committed(new String(r.key(), StandardCharsets.UTF_8), r.value()));
                    } else {
                        dead.add(RunReport.Committed.deadLetter(r));
                    }
                }
            }
            assertThat(stop(third)).as(log("third")).isZero();
        }
        RunReport.Verdict v = new RunReport(events).check(results, dead);
        assertThat(v.missing()).as("events without an answer").isZero();
        assertThat(v.unexpected()).as("answers twice or for no event").isZero();
        assertThat(v.deadLetters()).isEqualTo(6);
        assertThat(v.gets()).isPositive();
        assertThat(v.accuracy()).as("memories carried over every restart").isGreaterThan(0.98);
    }
}
