package dev.gdn.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.operator.GdnOptions;
import java.time.Duration;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.junit.jupiter.api.Test;

/** What a job on a cluster adds to the cluster's configuration: what the user passed, nothing else. */
class FlinkSettingsTest {
    static Configuration cluster() {
        Configuration c = new Configuration();
        c.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        c.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(10));
        c.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        return c;
    }

    @Test
    void theClustersRestartsCheckpointsAndStateBackendStandWhenTheUserPassesNone() {
        Configuration gdn = new Configuration();
        gdn.set(GdnOptions.MODEL_PATH, "/models/recall");
        Configuration added = FlinkSettings.forCluster(gdn, cluster());
        assertThat(added.toMap()).isEmpty();
        Configuration job = cluster();
        job.addAll(added);
        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("exponential-delay");
        assertThat(job.get(CheckpointingOptions.CHECKPOINTING_INTERVAL)).isEqualTo(Duration.ofSeconds(10));
        assertThat(job.get(StateBackendOptions.STATE_BACKEND)).isEqualTo("rocksdb");
    }

    @Test
    void whatTheUserPassesIsAddedAndOnlyThat() {
        Configuration gdn = new Configuration();
        gdn.set(GdnOptions.CHECKPOINT_INTERVAL, Duration.ofSeconds(3));
        gdn.set(GdnOptions.STATE_BACKEND, "hashmap");
        gdn.set(GdnOptions.CHECKPOINT_DIR, "file:///ckpt");
        Configuration added = FlinkSettings.forCluster(gdn, cluster());
        assertThat(added.get(CheckpointingOptions.CHECKPOINTING_INTERVAL)).isEqualTo(Duration.ofSeconds(3));
        assertThat(added.get(StateBackendOptions.STATE_BACKEND)).isEqualTo("hashmap");
        assertThat(added.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).isEqualTo("file:///ckpt");
        assertThat(added.getOptional(RestartStrategyOptions.RESTART_STRATEGY)).isEmpty();
    }

    @Test
    void withoutAnyCheckpointIntervalTheJobsDefaultKeepsExactlyOnceOutputFlowing() {
        Configuration added = FlinkSettings.forCluster(new Configuration(), new Configuration());
        assertThat(added.get(CheckpointingOptions.CHECKPOINTING_INTERVAL))
                .isEqualTo(GdnOptions.CHECKPOINT_INTERVAL.defaultValue());
        assertThat(added.getOptional(RestartStrategyOptions.RESTART_STRATEGY)).isEmpty();
    }

    @Test
    void aJobAgainstYourKafkaRestartsWithoutLimitSoThatAnOutageOfAnyLengthEndsInRecovery() {
        Configuration f = FlinkSettings.ofLongRunning(new Configuration());
        assertThat(f.get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("exponential-delay");
        assertThat(f.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS)).isEqualTo(Integer.MAX_VALUE);
        assertThat(f.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF))
                .isEqualTo(Duration.ofSeconds(15));
        assertThat(f.get(org.apache.flink.configuration.SinkOptions.COMMITTER_RETRIES)).as("a stuck commit restarts "
                + "the job within about a minute").isEqualTo(3);
        // the embedded demo keeps a bounded number of restarts: a failure there ends the run
        assertThat(FlinkSettings.of(new Configuration()).get(RestartStrategyOptions.RESTART_STRATEGY))
                .isEqualTo("fixed-delay");
    }

    @Test
    void rocksDbGetsBloomFiltersUnlessTheClusterSaysOtherwise() {
        Configuration gdn = new Configuration();
        gdn.set(GdnOptions.STATE_BACKEND, "rocksdb");
        assertThat(FlinkSettings.of(gdn).get(FlinkSettings.ROCKSDB_BLOOM_FILTER)).isTrue();
        assertThat(FlinkSettings.of(new Configuration()).getOptional(FlinkSettings.ROCKSDB_BLOOM_FILTER))
                .as("hashmap").isEmpty();
        assertThat(FlinkSettings.forCluster(gdn, cluster()).get(FlinkSettings.ROCKSDB_BLOOM_FILTER)).isTrue();
        Configuration without = cluster();
        without.set(FlinkSettings.ROCKSDB_BLOOM_FILTER, false);
        assertThat(FlinkSettings.forCluster(gdn, without).getOptional(FlinkSettings.ROCKSDB_BLOOM_FILTER))
                .as("the cluster's own choice stands").isEmpty();
    }

    @Test
    void atLeastOnceResultsDoNotWaitInHalfFullNetworkBuffers() {
        Configuration alo = new Configuration();
        alo.set(GdnOptions.DELIVERY, "at-least-once");
        assertThat(FlinkSettings.of(alo).get(org.apache.flink.configuration.ExecutionOptions.BUFFER_TIMEOUT))
                .isEqualTo(FlinkSettings.LOW_LATENCY_BUFFER_TIMEOUT);
        assertThat(FlinkSettings.of(new Configuration()).getOptional(
                org.apache.flink.configuration.ExecutionOptions.BUFFER_TIMEOUT)).isEmpty();
    }

    @Test
    void unalignedCheckpointsAreTheLocalDefaultAndOnAClusterSetOnlyWhenPassed() {
        Configuration on = new Configuration();
        on.set(GdnOptions.CHECKPOINT_UNALIGNED, true);
        Configuration off = new Configuration();
        off.set(GdnOptions.CHECKPOINT_UNALIGNED, false);
        assertThat(FlinkSettings.of(new Configuration()).get(CheckpointingOptions.ENABLE_UNALIGNED)).isTrue();
        assertThat(FlinkSettings.of(off).get(CheckpointingOptions.ENABLE_UNALIGNED)).isFalse();
        assertThat(FlinkSettings.ofLongRunning(new Configuration()).get(CheckpointingOptions.ENABLE_UNALIGNED))
                .as("against your own Kafka: aligned unless asked for").isFalse();
        assertThat(FlinkSettings.ofLongRunning(on).get(CheckpointingOptions.ENABLE_UNALIGNED)).isTrue();
        assertThat(FlinkSettings.forCluster(on, cluster()).get(CheckpointingOptions.ENABLE_UNALIGNED)).isTrue();
        assertThat(FlinkSettings.forCluster(new Configuration(), cluster()).toMap())
                .doesNotContainKey(CheckpointingOptions.ENABLE_UNALIGNED.key());
    }
}
