package dev.gdn.job;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker (KRaft, combined broker + controller) inside this JVM, on a free
 * loopback port, built from Kafka's own test kit. The one place that touches that internal API, so it
 * can be swapped for a {@code kafka.Kafka} child process.
 */
public final class EmbeddedKafka implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

    /** Largest transaction timeout the broker accepts: above the sinks' default of 10 minutes. */
    public static final long MAX_TRANSACTION_TIMEOUT_MS = 30 * 60 * 1000L;

    private final KafkaClusterTestKit cluster;

    private EmbeddedKafka(KafkaClusterTestKit cluster) {
        this.cluster = cluster;
    }

    /** Starts a broker, retrying the start-up once on a slow machine. */
    public static EmbeddedKafka start() throws Exception {
        Exception last = null;
        for (int attempt = 1; attempt <= 2; attempt++) {
            KafkaClusterTestKit kit = null;
            try {
                kit = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true)
                        .setNumBrokerNodes(1).setNumControllerNodes(1).build())
                        .setConfigProp("transaction.state.log.replication.factor", "1")
                        .setConfigProp("transaction.state.log.min.isr", "1")
                        .setConfigProp("offsets.topic.replication.factor", "1")
                        .setConfigProp("transaction.max.timeout.ms", Long.toString(MAX_TRANSACTION_TIMEOUT_MS))
                        .setConfigProp("group.initial.rebalance.delay.ms", "0")
                        .build();
                kit.format();
                kit.startup();
                kit.waitForReadyBrokers();
                LOG.info("embedded Kafka broker at {}", kit.bootstrapServers());
                return new EmbeddedKafka(kit);
            } catch (Exception e) {
                last = e;
                LOG.warn("embedded Kafka start attempt {} failed: {}", attempt, e.toString());
                if (kit != null) {
                    try {
                        kit.close();
                    } catch (Exception ignored) {
                        // the failed attempt's own clean-up; the next attempt starts from scratch
                    }
                }
            }
        }
        throw last;
    }

    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    /** Creates topics with the given partition count (replication 1). */
    public void createTopics(int partitions, String... topics) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        try (Admin admin = Admin.create(p)) {
            List<NewTopic> t = java.util.Arrays.stream(topics).map(n -> new NewTopic(n, partitions, (short) 1)).toList();
            admin.createTopics(t).all().get(60, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }
}
