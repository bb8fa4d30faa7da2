package dev.gdn.operator;

import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.state.StreamBinding;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The bundle core's store as plain maps: the core without Flink (its unit tests, the host-path
 * benchmark). Reads check a memory's binding to its key as keyed state does; it records which keys were
 * written, in order; {@link #refusal} refuses new streams when set.
 */
final class MapStore implements BundleCore.Store {
    final Map<String, StreamMemory> memories = new HashMap<>();
    final Map<String, Long> counts = new HashMap<>();
    final Map<String, dev.gdn.state.TokenLogFormat.Log> logs = new HashMap<>();
    final List<String> writes = new ArrayList<>();
    /** Why new streams are refused; null: admitted. */
    String refusal;

    @Override
    public StreamMemory read(String key) {
        StreamMemory m = memories.get(key);
        if (m != null) {
            StreamBinding.check(m, key);
        }
        return m;
    }

    @Override
    public float[] legacyHidden(String key) {
        return null;
    }

    @Override
    public void write(String key, StreamMemory memory, boolean dropLegacyHidden, boolean dropLog) {
        memories.put(key, memory);
        if (dropLog) {
            logs.remove(key);
        }
        writes.add(key);
    }

    @Override
    public dev.gdn.state.TokenLogFormat.Log readLog(String key) {
        return logs.get(key);
    }

    @Override
    public void writeLog(String key, long baseTokens, int[] tokens, boolean dropMemory) {
        logs.put(key, new dev.gdn.state.TokenLogFormat.Log(baseTokens, tokens.clone()));
        if (dropMemory) {
            memories.remove(key);
        }
        writes.add(key);
    }

    @Override
    public void forget(String key, boolean withCount) {
        memories.remove(key);
        logs.remove(key);
        if (withCount) {
            counts.remove(key);
        }
    }

    @Override
    public long eventCount(String key) {
        return counts.getOrDefault(key, 0L);
    }

    @Override
    public void setEventCount(String key, long count) {
        counts.put(key, count);
    }

    @Override
    public String refuseNewStream() {
        return refusal;
    }
}
