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
     * Exactly-once checkpoints at the configured interval, the state backend (RocksDB with incremental
     * checkpoints, or hashmap) and file-system checkpoint storage (memories are far larger than the
     * JobManager's in-memory storage allows).
     */
    public static Configuration of(Configuration c) {
        Configuration f = new Configuration();
        f.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, c.get(GdnOptions.CHECKPOINT_INTERVAL));
        f.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        f.set(StateBackendOptions.STATE_BACKEND, c.get(GdnOptions.STATE_BACKEND));
        f.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        f.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        f.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 10);
        f.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, java.time.Duration.ofSeconds(1));
        c.getOptional(GdnOptions.CHECKPOINT_DIR).ifPresent(d -> {
            f.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
            f.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, d);
        });
        return f;
    }
}
