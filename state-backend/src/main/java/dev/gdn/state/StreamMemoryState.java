package dev.gdn.state;

import dev.gdn.kernels.model.StreamMemory;
import java.time.Duration;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueStateDescriptor;

/** The keyed state that holds each stream's memory. */
public final class StreamMemoryState {
    /** Name of the value state inside the operator. */
    public static final String STATE_NAME = "stream-memory";

    private StreamMemoryState() {
    }

    /**
     * The descriptor of the memory state.
     *
     * @param idleTtl drop a stream's memory after this long without a write (processing time);
     *                {@code Duration.ZERO} keeps memories forever
     * @throws IllegalArgumentException when idleTtl is negative
     */
    public static ValueStateDescriptor<StreamMemory> descriptor(StreamMemorySerializer serializer, Duration idleTtl) {
        if (idleTtl.isNegative()) {
            throw new IllegalArgumentException("idle TTL must be >= 0, got " + idleTtl);
        }
        ValueStateDescriptor<StreamMemory> d = new ValueStateDescriptor<>(STATE_NAME, serializer);
        if (!idleTtl.isZero()) {
            d.enableTimeToLive(StateTtlConfig.newBuilder(idleTtl)
                    .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                    .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                    .cleanupFullSnapshot()
                    .build());
        }
        return d;
    }
}
