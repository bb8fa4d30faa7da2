package dev.gdn.job;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsResult;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Checks a user's Kafka before the job starts, each within a bounded wait, so that a wrong address or a
 * missing topic is one clear error instead of a job that restarts or hangs: the brokers answer, the
 * topics exist, the output topics accept records of the job's largest size.
 */
public final class KafkaPreflight implements AutoCloseable {
    private final String servers;
    private final Duration timeout;
    private final Admin admin;

    public KafkaPreflight(String servers, Duration timeout) {
        this.servers = servers;
        this.timeout = timeout;
        for (String server : servers.split(",")) {
            speaksKafka(server.trim(), timeout);
        }
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
        int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
        this.admin = Admin.create(p);
    }

    /** A duration as a person reads it: {@code 3 s}, {@code 500 ms}. */
    static String human(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /**
     * Sends {@code server} one Kafka request (ApiVersions v0) on a socket of its own and checks that the
     * answer is framed as Kafka frames it. Kafka's own clients take a non-Kafka answer's first four bytes
     * as a frame size (an HTTP server's "HTTP" reads as 1.2 GB) and exhaust the heap; this check refuses
     * such an endpoint first. A server that refuses the connection or stays silent is left to the
     * clients' own timeouts.
     *
     * @throws IllegalStateException naming the server and the bytes it answered
     */
    static void speaksKafka(String server, Duration timeout) {
        int colon = server.lastIndexOf(':');
        if (colon <= 0) {
            return; // the client reports a malformed address itself
        }
        String host = server.substring(0, colon).replaceAll("^\\[|\\]$", "");
        int port;
        try {
            port = Integer.parseInt(server.substring(colon + 1));
        } catch (NumberFormatException e) {
            return;
        }
        int ms = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress(host, port), ms);
            s.setSoTimeout(ms);
            java.io.DataOutputStream out = new java.io.DataOutputStream(
                    new java.io.BufferedOutputStream(s.getOutputStream()));
            byte[] client = "gdn-preflight".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int correlation = 0x6764_6e31;
            out.writeInt(2 + 2 + 4 + 2 + client.length);
            out.writeShort(18); // ApiVersions
            out.writeShort(0);
            out.writeInt(correlation);
            out.writeShort(client.length);
            out.write(client);
            try {
                out.flush();
            } catch (java.io.IOException e) {
                // a server that answers before it reads may close first: its answer is still to be read
            }
            java.io.InputStream in = s.getInputStream();
            byte[] head = in.readNBytes(8);
            if (head.length == 0) {
                return; // closed without a word: the clients say so
            }
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(java.util.Arrays.copyOf(head, 8));
            int size = b.getInt(0);
            if (head.length < 8 || size < 4 || size > (1 << 20) || b.getInt(4) != correlation) {
                throw new IllegalStateException(server + " does not speak the Kafka protocol: it answered a Kafka "
                        + "request with " + printable(head) + (head[0] == 0x15 || head[0] == 0x16
                                ? " (a TLS handshake: this job connects in plaintext)" : "")
                        + "; check --bootstrap-servers / " + dev.gdn.operator.GdnOptions.BOOTSTRAP_SERVERS.key());
            }
        } catch (java.io.IOException e) {
            // refused, unreachable or silent: the clients report it within their timeout
        }
    }

    private static String printable(byte[] b) {
        StringBuilder sb = new StringBuilder("'");
        for (byte x : b) {
            sb.append(x >= 0x20 && x < 0x7f ? String.valueOf((char) x) : String.format("\\x%02x", x & 0xff));
        }
        return sb.append("'").toString();
    }

    /**
     * @throws IllegalStateException naming the brokers when none answers within the timeout
     */
    public void brokersAnswer() {
        try {
            admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            throw new IllegalStateException("Kafka at " + servers + " did not answer within " + human(timeout)
                    + ": " + RootCause.line(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for Kafka at " + servers);
        }
    }

    /**
     * @return the partition count of each topic
     * @throws IllegalArgumentException naming the first topic that does not exist
     */
    public Map<String, Integer> topicsExist(List<String> topics) {
        Map<String, Integer> partitions = new java.util.LinkedHashMap<>();
        for (String t : topics) {
            try {
                TopicDescription d = admin.describeTopics(List.of(t)).allTopicNames()
                        .get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(t);
                partitions.put(t, d.partitions().size());
            } catch (ExecutionException e) {
                if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                    throw new IllegalArgumentException("topic '" + t + "' does not exist on " + servers
                            + ": create it first (the job creates no topics)");
                }
                throw new IllegalStateException("cannot describe topic '" + t + "' on " + servers + ": "
                        + RootCause.line(e));
            } catch (TimeoutException e) {
                throw new IllegalStateException("Kafka at " + servers + " did not describe topic '" + t + "' within "
                        + human(timeout));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while describing topic '" + t + "'");
            }
        }
        return partitions;
    }

    /**
     * @throws IllegalArgumentException when a topic's {@code max.message.bytes} is below {@code bytes}
     */
    public void acceptsRecordsOf(List<String> topics, int bytes, String option) {
        List<ConfigResource> rs = new ArrayList<>();
        for (String t : topics) {
            rs.add(new ConfigResource(ConfigResource.Type.TOPIC, t));
        }
        Map<ConfigResource, Config> configs;
        try {
            configs = admin.describeConfigs(rs).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the configs of " + topics + " on " + servers + ": "
                    + RootCause.line(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading topic configs");
        }
        for (Map.Entry<ConfigResource, Config> en : configs.entrySet()) {
            var entry = en.getValue().get("max.message.bytes");
            if (entry != null && entry.value() != null && Long.parseLong(entry.value()) < bytes) {
                throw new IllegalArgumentException("topic '" + en.getKey().name() + "' has max.message.bytes = "
                        + entry.value() + ", below " + option + " = " + bytes + ": lower the option or raise the topic's "
                        + "limit, else a large result or dead letter could not be written");
            }
        }
    }

    /** Whether consumer group {@code group} has committed offsets on {@code topic}. */
    public boolean groupHasOffsets(String group, String topic) {
        try {
            ListConsumerGroupOffsetsResult r = admin.listConsumerGroupOffsets(group);
            Map<TopicPartition, OffsetAndMetadata> offsets = r.partitionsToOffsetAndMetadata()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return offsets.entrySet().stream().anyMatch(e -> e.getKey().topic().equals(topic) && e.getValue() != null);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the offsets of consumer group '" + group + "' on " + servers
                    + ": " + RootCause.line(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading consumer group offsets");
        }
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(5));
    }
}
