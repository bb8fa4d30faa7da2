package dev.gdn.job;

import dev.gdn.operator.GdnOptions;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.CheckpointingMode;

/** The Flink settings of a job with the inference operator; free of Kafka, so benchmarks can use it. */
public final class FlinkSettings {
    private FlinkSettings() {
    }

    /**
     * RocksDB's bloom filters (Flink's {@code state.backend.rocksdb.use-bloom-filter}, off by default): most
     * reads of a large key space ask for a stream that has no memory (a new stream, or a young one kept as
     * its tokens), and a filter answers those without reading data blocks.
     */
    static final org.apache.flink.configuration.ConfigOption<Boolean> ROCKSDB_BLOOM_FILTER =
            org.apache.flink.configuration.ConfigOptions.key("state.backend.rocksdb.use-bloom-filter").booleanType()
                    .defaultValue(false);

    /** How long a network buffer may wait to fill in at-least-once mode, where latency is the point. */
    public static final java.time.Duration LOW_LATENCY_BUFFER_TIMEOUT = java.time.Duration.ofMillis(2);

    /**
     * For a local cluster the job starts itself ({@code gdn run}, benchmarks): exactly-once checkpoints at
     * the configured interval, the state backend (RocksDB with incremental checkpoints, or hashmap),
     * file-system checkpoint storage (memories are far larger than the JobManager's in-memory storage
     * allows) and fixed-delay restarts. A job submitted to a cluster takes {@link #forCluster} instead.
     */
    public static Configuration of(Configuration c) {
        Configuration f = new Configuration();
        f.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, c.get(GdnOptions.CHECKPOINT_INTERVAL));
        f.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        f.set(StateBackendOptions.STATE_BACKEND, c.get(GdnOptions.STATE_BACKEND));
        f.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        if (c.get(GdnOptions.STATE_BACKEND).equals("rocksdb")) {
            f.set(ROCKSDB_BLOOM_FILTER, true);
        }
        f.set(CheckpointingOptions.ENABLE_UNALIGNED, c.get(GdnOptions.CHECKPOINT_UNALIGNED));
        if (GdnOptions.atLeastOnce(c)) {
            // results leave as they are computed: do not let them wait up to 100 ms (Flink's default) in a
            // half-full network buffer between the operators
            f.set(org.apache.flink.configuration.ExecutionOptions.BUFFER_TIMEOUT, LOW_LATENCY_BUFFER_TIMEOUT);
        }
        f.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        f.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 10);
        f.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, java.time.Duration.ofSeconds(1));
        c.getOptional(GdnOptions.CHECKPOINT_DIR).ifPresent(d -> {
            f.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
            f.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, d);
        });
        return f;
    }

    /**
     * {@link #of} for a job that runs until stopped against a user's Kafka ({@code gdn run
     * --bootstrap-servers}): restarts with exponentially growing delays (1 s to 15 s) and no limit on
     * their number, as Flink does by default for checkpointed jobs, so that a broker outage of any length
     * ends in recovery once the broker is back. Failures that a restart cannot mend (altered or foreign
     * state, altered source offsets) suppress restarts and end the run at once.
     */
    /** Tries of a Kafka transaction's commit before a job against a user's Kafka restarts (Flink's default: 10). */
    static final int COMMITTER_RETRIES = 3;

    /** The longest wait between restarts of a job against a user's Kafka. */
    static final java.time.Duration MAX_RESTART_BACKOFF = java.time.Duration.ofSeconds(15);

    public static Configuration ofLongRunning(Configuration c) {
        Configuration f = of(c);
        // against a user's Kafka, aligned checkpoints unless asked for: recovery after a broker outage longer
        // than the client timeouts was seen to take over 3 minutes from unaligned ones (BrokerOutageIT, 2 of 4
        // runs), never from aligned ones
        f.set(CheckpointingOptions.ENABLE_UNALIGNED, c.getOptional(GdnOptions.CHECKPOINT_UNALIGNED).orElse(false));
        f.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        f.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF, java.time.Duration.ofSeconds(1));
        // at most 15 s between attempts: once the broker is back the job is running again within seconds
        // (an attempt that starts while it is down can itself take a minute to fail: Kafka clients block)
        f.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF, MAX_RESTART_BACKOFF);
        f.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER, 2.0);
        f.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD,
                java.time.Duration.ofMinutes(10));
        f.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS, Integer.MAX_VALUE);
        // a commit whose producer lost its broker can keep timing out after the broker is back (seen in
        // BrokerOutageIT: EndTxn retried every 60 s for minutes): give up after a few tries, so that the job
        // restarts with fresh producers and commits the checkpoint's transactions again from its state
        f.set(org.apache.flink.configuration.SinkOptions.COMMITTER_RETRIES, COMMITTER_RETRIES);
        return f;
    }

    /**
     * The settings a job on a cluster adds to the cluster's own configuration ({@code cluster}): only
     * what the user passed explicitly among the job's options (checkpoint interval, state backend,
     * checkpoint directory), so that the cluster's restart strategy, checkpointing and state settings
     * stand. One exception: exactly-once output is committed at checkpoints, so when neither the user nor
     * the cluster sets a checkpoint interval, the job's default ({@code gdn.checkpoint.interval}) is used.
     */
    public static Configuration forCluster(Configuration c, org.apache.flink.configuration.ReadableConfig cluster) {
        Configuration f = new Configuration();
        if (c.contains(GdnOptions.CHECKPOINT_INTERVAL)
                || cluster.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL).isEmpty()) {
            f.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, c.get(GdnOptions.CHECKPOINT_INTERVAL));
        }
        if (c.contains(GdnOptions.STATE_BACKEND)) {
            f.set(StateBackendOptions.STATE_BACKEND, c.get(GdnOptions.STATE_BACKEND));
            if (cluster.getOptional(CheckpointingOptions.INCREMENTAL_CHECKPOINTS).isEmpty()) {
                f.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
            }
            if (c.get(GdnOptions.STATE_BACKEND).equals("rocksdb") && cluster.getOptional(ROCKSDB_BLOOM_FILTER).isEmpty()) {
                f.set(ROCKSDB_BLOOM_FILTER, true);
            }
        }
        c.getOptional(GdnOptions.CHECKPOINT_DIR).ifPresent(d -> {
            f.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
            f.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, d);
        });
        if (c.contains(GdnOptions.CHECKPOINT_UNALIGNED)) {
            f.set(CheckpointingOptions.ENABLE_UNALIGNED, c.get(GdnOptions.CHECKPOINT_UNALIGNED));
        }
        return f;
    }
}
