package dev.gdn.operator;

import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.state.MemoryFormatException;
import dev.gdn.state.StreamBinding;
import dev.gdn.state.StreamMemorySerializer;
import dev.gdn.state.StreamMemoryState;
import dev.gdn.state.TokenLogFormat;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.heap.HeapKeyedStateBackend;

/**
 * The core's {@link BundleCore.Store} over the operator's keyed state: each stream's memory (checked as
 * this model's and bound to its key when read), the last hidden state a format-2 memory kept beside it,
 * its event count (with gdn.summary.every-events), and, on the hashmap backend, the heap budget that
 * admits new streams. Corrupt, altered or foreign state fails the job at once, without restarts (it would
 * be found again on every restart), with its own message as the root cause.
 */
final class KeyedMemories implements BundleCore.Store {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KeyedMemories.class);
    /** The state of the streams' token logs (tokens consumed since the stored memory). */
    static final String LOG_STATE_NAME = TokenLogFormat.STATE_NAME;

    private final KeyedStateBackend<String> backend;
    private final Consumer<String> setKey;
    private final StreamMemorySerializer serializer;
    private final int hiddenSize;
    private final boolean ttl;
    private final ValueState<StreamMemory> memories;
    private final ValueState<float[]> lastHidden;
    /** Young streams kept as the tokens that made their memories ({@link TokenLogFormat}). */
    private final ValueState<byte[]> logs;
    private final int vocabSize;
    /** With gdn.summary.every-events: each stream's events with tokens since its start or last reset. */
    private final ValueState<Long> eventCounts;
    private HeapAdmission heap;

    /**
     * @param setKey       sets the key the states read and write (the operator's {@code setCurrentKey})
     * @param idleTtl      forget a stream idle this long (zero: never)
     * @param countEvents  keep each stream's event count
     */
    KeyedMemories(RuntimeContext context, KeyedStateBackend<String> backend, Consumer<String> setKey,
            StreamMemorySerializer serializer, int hiddenSize, int vocabSize, Duration idleTtl, boolean countEvents) {
        this.backend = backend;
        this.setKey = setKey;
        this.serializer = serializer;
        this.hiddenSize = hiddenSize;
        this.vocabSize = vocabSize;
        this.ttl = !idleTtl.isZero();
        memories = context.getState(StreamMemoryState.descriptor(serializer, idleTtl));
        lastHidden = context.getState(withTtl(new ValueStateDescriptor<>("last-hidden",
                PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO), idleTtl));
        logs = context.getState(withTtl(new ValueStateDescriptor<>(LOG_STATE_NAME,
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO), idleTtl));
        eventCounts = countEvents
                ? context.getState(withTtl(new ValueStateDescriptor<>("summary-event-count", Types.LONG), idleTtl))
                : null;
    }

    private static <T> ValueStateDescriptor<T> withTtl(ValueStateDescriptor<T> d, Duration idleTtl) {
        if (!idleTtl.isZero()) {
            d.enableTimeToLive(StateTtlConfig.newBuilder(idleTtl)
                    .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired).build());
        }
        return d;
    }

    /** Whether the state lives on the JVM heap (the hashmap backend). */
    boolean onHeap() {
        return backend instanceof HeapKeyedStateBackend;
    }

    /** On the hashmap backend: new streams are admitted while their memories fit in {@code heap}'s budget. */
    void limitBy(HeapAdmission heap) {
        this.heap = heap;
    }

    /**
     * Memories held on the hashmap backend (walks their keys); token logs, a few bytes each, are not
     * counted.
     */
    int heapEntries() {
        try (var keys = backend.getKeys(StreamMemoryState.STATE_NAME, VoidNamespace.INSTANCE)) {
            return (int) keys.count();
        }
    }

    @Override
    public StreamMemory read(String key) throws Exception {
        setKey.accept(key);
        return checked(() -> load(key, memories.value()));
    }

    /** The memory stored for {@code key} as it is, unchecked (null for none), for tests. */
    StreamMemory stored(String key) throws Exception {
        setKey.accept(key);
        return memories.value();
    }

    @Override
    public float[] legacyHidden(String key) throws Exception {
        setKey.accept(key);
        return lastHidden.value();
    }

    @Override
    public void write(String key, StreamMemory memory, boolean dropLegacyHidden, boolean dropLog) throws Exception {
        setKey.accept(key);
        memories.update(memory);
        if (dropLegacyHidden) {
            lastHidden.clear();
        }
        if (dropLog) {
            logs.clear();
        }
    }

    @Override
    public TokenLogFormat.Log readLog(String key) throws Exception {
        setKey.accept(key);
        byte[] b = logs.value();
        if (b == null) {
            return null;
        }
        try {
            return TokenLogFormat.decode(b, key, serializer.fingerprint(), serializer.onModelChange(), vocabSize);
        } catch (MemoryFormatException e) {
            throw new SuppressRestartsException(e);
        }
    }

    @Override
    public void writeLog(String key, long baseTokens, int[] tokens, boolean dropMemory) throws Exception {
        setKey.accept(key);
        logs.update(TokenLogFormat.encode(serializer.fingerprint(), key, baseTokens, tokens));
        if (dropMemory) {
            memories.clear();
        }
    }

    @Override
    public void forget(String key, boolean withCount) throws Exception {
        setKey.accept(key);
        memories.clear();
        lastHidden.clear();
        logs.clear();
        if (withCount && eventCounts != null) {
            eventCounts.clear();
        }
    }

    @Override
    public long eventCount(String key) throws Exception {
        setKey.accept(key);
        Long n = eventCounts.value();
        return n == null ? 0 : n;
    }

    @Override
    public void setEventCount(String key, long count) throws Exception {
        setKey.accept(key);
        eventCounts.update(count);
    }

    @Override
    public String refuseNewStream() {
        return heap == null ? null : heap.refuse();
    }

    /**
     * A stored memory, checked: this model's, bound to {@code key}, with a last hidden state of the model's
     * width; null stays null.
     */
    private StreamMemory load(String key, StreamMemory m) {
        if (m == null) {
            return null;
        }
        m = serializer.bind(m);
        StreamBinding.check(m, key);
        if (m.lastHidden() != null && m.lastHidden().length != hiddenSize) {
            throw new MemoryFormatException("the memory of stream '" + Reasons.quote(key) + "' has a last hidden "
                    + "state of " + m.lastHidden().length + " floats, expected " + hiddenSize);
        }
        return m;
    }

    /** Runs a read: a memory-format failure anywhere in the chain fails the job without restarts. */
    private static StreamMemory checked(Callable<StreamMemory> read) throws Exception {
        try {
            return read.call();
        } catch (Exception e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof MemoryFormatException) {
                    throw new SuppressRestartsException(e);
                }
            }
            throw e;
        }
    }

    /**
     * After a restore: every memory in this subtask's state belongs to the key it is stored under (a
     * renamed key would otherwise leave its stream to restart from nothing, silently). Reads each memory
     * once; {@code gdn.state.verify-on-restore} turns it off for very large RocksDB states.
     */
    void verifyRestored() throws Exception {
        long start = System.nanoTime();
        List<String> keys;
        try (var s = backend.getKeys(StreamMemoryState.STATE_NAME, VoidNamespace.INSTANCE)) {
            keys = s.toList();
        }
        for (String key : keys) {
            setKey.accept(key);
            StreamMemory stored = checked(memories::value);
            if (stored == null && !ttl) {
                // listed, yet not found under its own key: stored in a key group the key does not hash to
                throw new SuppressRestartsException(new MemoryFormatException("the state holds a memory under "
                        + "stream '" + Reasons.quote(key) + "' that its key cannot reach (stored in another key "
                        + "group): the checkpoint or savepoint was altered"));
            }
            checked(() -> load(key, stored));
        }
        List<String> logged;
        try (var s = backend.getKeys(LOG_STATE_NAME, VoidNamespace.INSTANCE)) {
            logged = s.toList();
        }
        for (String key : logged) {
            setKey.accept(key);
            if (logs.value() == null && !ttl) {
                throw new SuppressRestartsException(new MemoryFormatException("the state holds a token log under "
                        + "stream '" + Reasons.quote(key) + "' that its key cannot reach (stored in another key "
                        + "group): the checkpoint or savepoint was altered"));
            }
            TokenLogFormat.Log log = readLog(key);
            StreamMemory base = checked(memories::value);
            try {
                TokenLogFormat.checkContinues(log, base, key);
            } catch (MemoryFormatException e) {
                throw new SuppressRestartsException(e);
            }
        }
        LOG.info(String.format(Locale.ROOT, "verified %d restored stream memories and %d token logs in %d ms",
                keys.size(), logged.size(), (System.nanoTime() - start) / 1_000_000));
    }
}
