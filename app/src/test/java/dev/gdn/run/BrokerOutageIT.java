package dev.gdn.run;


import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.demo.DemoEvent;
import dev.gdn.demo.RecallTask;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gdn run --bootstrap-servers} against a Kafka broker process that dies mid-stream and stays away
 * longer than the producers' and transactions' client timeouts (60 s): once the broker is back, the job
 * recovers by itself and every event has exactly one committed answer.
 */
@Timeout(900)
class BrokerOutageIT {
    /** How long the broker stays away: past max.block.ms (60 s) and request retries. */
    static final long OUTAGE_SECONDS = Long.getLong("gdn.test.outage-seconds", 150);

    @TempDir
    Path dir;

    /** How the broker goes away: killed (connections refused) or frozen (connections open, nothing answers). */
    enum Outage { KILLED, FROZEN }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(Outage.class)
    void aBrokerOutageLongerThanTheClientTimeoutsEndsInRecoveryWithEveryEventExactlyOnce(Outage outage)
            throws Exception {
        List<DemoEvent> events = RecallTask.generate(2400, 12, 4, 17);
        try (KafkaBrokerProcess broker = KafkaBrokerProcess.start(dir.resolve("kafka"))) {
            String servers = broker.bootstrapServers();
            Properties p = new Properties();
            p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
            try (Admin admin = Admin.create(p)) {
                admin.createTopics(List.of(new NewTopic("ext-in", 2, (short) 1), new NewTopic("ext-out", 2, (short) 1),
                        new NewTopic("ext-dlq", 2, (short) 1))).all().get(60, TimeUnit.SECONDS);
            }
            // enough input that the broker dies while the job is answering it (open transactions with records)
            LocalRun.produce(servers, "ext-in", events.subList(0, 2000));
            Process job = ExternalKafkaRestartTest.gdnRun(servers, dir, dir.resolve("state"), "outage");
            List<RunReport.Committed> results = new ArrayList<>();
            List<RunReport.Committed> dead = new ArrayList<>();
            try {
                try (KafkaConsumer<byte[], byte[]> c = reader(servers)) {
                    ExternalKafkaRestartTest.awaitAnswers(c, results, dead, 300, job, dir, "outage");
                }
                if (outage == Outage.KILLED) {
                    broker.kill();
                } else {
                    broker.freeze();
                }
                long down = System.nanoTime();
                Thread.sleep(TimeUnit.SECONDS.toMillis(OUTAGE_SECONDS));
                System.out.println("answered before the broker died: " + (results.size() + dead.size()));
                assertThat(job.isAlive()).as("the job waits out the outage; its log:%n%s",
                        ExternalKafkaRestartTest.log(dir, "outage")).isTrue();
                if (outage == Outage.KILLED) {
                    broker.restart();
                } else {
                    broker.thaw();
                }
                System.out.printf("broker %s for %.0f s%n", outage, (System.nanoTime() - down) / 1e9);
                LocalRun.produce(servers, "ext-in", events.subList(2000, 2400));
                // read everything committed from the start again: the answers before the outage too
                results.clear();
                dead.clear();
                try (KafkaConsumer<byte[], byte[]> c = reader(servers)) {
                    // a restart attempt that began while the broker was down may take a minute to fail before the
                    // next one (at most 15 s later) finds it back
                    ExternalKafkaRestartTest.awaitAnswers(c, results, dead, 2400, job, dir, "outage",
                            java.time.Duration.ofMinutes(5));
                    long quiet = System.currentTimeMillis() + 3_000;
                    while (System.currentTimeMillis() < quiet) {
                        for (var r : c.poll(java.time.Duration.ofMillis(200))) {
                            if (r.topic().equals("ext-out")) {
                                results.add(new RunReport.Committed(new String(r.key(),
                                        java.nio.charset.StandardCharsets.UTF_8), r.value()));
                            } else {
                                dead.add(RunReport.Committed.deadLetter(r));
                            }
                        }
                    }
                }
                assertThat(ExternalKafkaRestartTest.stop(job)).as(ExternalKafkaRestartTest.log(dir, "outage")).isZero();
            } finally {
                job.destroyForcibly();
            }
            RunReport.Verdict v = new RunReport(events).check(results, dead);
            assertThat(v.missing()).as("events without an answer").isZero();
            assertThat(v.unexpected()).as("answers twice or for no event").isZero();
            assertThat(v.accuracy()).as("memories carried over the outage").isGreaterThan(0.98);
        }
    }

    private static KafkaConsumer<byte[], byte[]> reader(String servers) {
        KafkaConsumer<byte[], byte[]> c = LocalRun.committedReader(servers);
        List<TopicPartition> parts = new ArrayList<>(LocalRun.partitions(c, "ext-out"));
        parts.addAll(LocalRun.partitions(c, "ext-dlq"));
        c.assign(parts);
        c.seekToBeginning(parts);
        return c;
    }
}
