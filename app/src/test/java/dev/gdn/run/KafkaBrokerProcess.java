package dev.gdn.run;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * A Kafka broker as a user runs one: {@code kafka.Kafka} with a {@code server.properties} in a JVM of its
 * own (KRaft, combined broker and controller), its storage formatted first with Kafka's storage tool.
 */
final class KafkaBrokerProcess implements AutoCloseable {
    private Process process;
    private final String servers;
    private final Path dir;
    private final Path props;

    private KafkaBrokerProcess(Process process, String servers, Path dir, Path props) {
        this.process = process;
        this.servers = servers;
        this.dir = dir;
        this.props = props;
    }

    static KafkaBrokerProcess start(Path dir) throws Exception {
        Files.createDirectories(dir);
        int port = ProcessCluster.freePort();
        int controller = ProcessCluster.freePort();
        Path props = dir.resolve("server.properties");
        Files.writeString(props, String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@localhost:" + controller,
                "listeners=PLAINTEXT://localhost:" + port + ",CONTROLLER://localhost:" + controller,
                "advertised.listeners=PLAINTEXT://localhost:" + port,
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + dir.resolve("data"),
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.max.timeout.ms=" + EmbeddedKafka.MAX_TRANSACTION_TIMEOUT_MS,
                "message.max.bytes=" + EmbeddedKafka.MAX_MESSAGE_BYTES,
                "group.initial.rebalance.delay.ms=0", ""));
        Process format = java(dir, "format", "kafka.tools.StorageTool", "format", "-t", Uuid.randomUuid().toString(),
                "-c", props.toString());
        if (!format.waitFor(120, TimeUnit.SECONDS) || format.exitValue() != 0) {
            throw new IllegalStateException("kafka-storage format failed:\n" + Files.readString(dir.resolve("format.log")));
        }
        String servers = "localhost:" + port;
        return new KafkaBrokerProcess(launch(dir, props, servers, "broker"), servers, dir, props);
    }

    /** Starts {@code kafka.Kafka} on {@code props} and waits until it answers. */
    private static Process launch(Path dir, Path props, String servers, String log) throws Exception {
        Process broker = java(dir, log, "kafka.Kafka", props.toString());
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try (Admin admin = Admin.create(p)) {
            while (true) {
                try {
                    admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                    break;
                } catch (Exception e) {
                    if (!broker.isAlive() || System.nanoTime() > until) {
                        broker.destroyForcibly();
                        throw new IllegalStateException("the broker did not come up; its log:\n"
                                + Files.readString(dir.resolve(log + ".log")), e);
                    }
                    Thread.sleep(300);
                }
            }
        }
        return broker;
    }

    /** Kills the broker process (SIGKILL): an outage, its data kept. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /**
     * Freezes the broker process (SIGSTOP): its connections stay open and nothing answers, as in a network
     * partition or a long stop-the-world pause; {@link #thaw} resumes it.
     */
    void freeze() throws Exception {
        signal("STOP");
    }

    /** Resumes a {@link #freeze frozen} broker (SIGCONT). */
    void thaw() throws Exception {
        signal("CONT");
    }

    private void signal(String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
        }
    }

    /** Starts the broker again on the same port and data after {@link #kill}. */
    void restart() throws Exception {
        process = launch(dir, props, servers, "broker-restarted");
    }

    private static Process java(Path dir, String name, String... mainAndArgs) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(mainAndArgs));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
    }

    String bootstrapServers() {
        return servers;
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
