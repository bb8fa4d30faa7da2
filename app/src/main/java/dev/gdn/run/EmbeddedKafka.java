package dev.gdn.run;


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

    /** Largest record the embedded broker and the demo producer take (so oversized demo events reach the job). */
    public static final int MAX_MESSAGE_BYTES = 64 << 20;

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
                        .setConfigProp("message.max.bytes", Integer.toString(MAX_MESSAGE_BYTES))
                        .setConfigProp("replica.fetch.max.bytes", Integer.toString(MAX_MESSAGE_BYTES))
                        .build();
                formatQuietly(kit);
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

    /** Formats the storage; the test kit prints its metadata there to stdout, which is the CLI's output. */
    private static void formatQuietly(KafkaClusterTestKit kit) throws Exception {
        java.io.PrintStream stdout = System.out;
        System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            kit.format();
        } finally {
            System.setOut(stdout);
        }
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

    /**
     * A broker as a process of its own (for tests and trials that need Kafka outside the job's JVM):
     * prints {@code bootstrap.servers=HOST:PORT} on stdout, runs until its standard input closes.
     */
    public static void main(String[] args) throws Exception {
        try (EmbeddedKafka kafka = start()) {
            System.out.println("bootstrap.servers=" + kafka.bootstrapServers());
            System.out.flush();
            while (System.in.read() >= 0) {
                // wait for the parent to close our stdin
            }
        }
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }
}
