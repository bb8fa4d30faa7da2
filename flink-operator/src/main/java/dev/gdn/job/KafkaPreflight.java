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
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
        int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
        this.admin = Admin.create(p);
    }

    /**
     * @throws IllegalStateException naming the brokers when none answers within the timeout
     */
    public void brokersAnswer() {
        try {
            admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            throw new IllegalStateException("Kafka at " + servers + " did not answer within " + timeout.toSeconds()
                    + " s: " + RootCause.line(e));
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
                        + timeout.toSeconds() + " s");
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
