package dev.gdn.run;

import dev.gdn.job.GdnJob;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.state.MemoryFormatException;
import dev.gdn.state.ModelChangePolicy;
import dev.gdn.state.StreamBinding;
import dev.gdn.state.StreamMemorySerializer;
import dev.gdn.state.StreamMemoryState;
import dev.gdn.state.TokenLogFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.Collector;

/**
 * Reads the stream memories of one operator out of a savepoint or retained checkpoint with Flink's
 * State Processor API (a local batch job). A stream with a token log ({@link TokenLogFormat}) is rebuilt
 * by running its tokens through the model on top of its stored memory, as the job does when it loads one.
 */
public final class SavepointMemories {
    /** The uid of the operator that keeps stream memories (the inference operator sets this uid). */
    public static final String DEFAULT_UID = GdnJob.OPERATOR_UID;

    /** What the reader sends for a key the state lists without a memory under it (a serialized one is longer). */
    private static final byte[] MISSING = {0};

    /**
     * One stream: its key and memory.
     *
     * @param loggedTokens the tokens the memory was rebuilt from when the state kept them as a token log
     *                     (on top of a stored memory or an empty one), else -1
     */
    public record Entry(String key, StreamMemory memory, int loggedTokens) {
    }

    private SavepointMemories() {
    }

    /**
     * Every stream memory of operator {@code uid}, optionally only the one of {@code key}.
     *
     * @param serializer the serializer of the model the memories belong to (checked against the savepoint)
     * @param model      that model, to rebuild young streams from their tokens
     */
    public static List<Entry> read(String savepointPath, String uid, StreamMemorySerializer serializer,
            GatedDeltaNetModel model, String key) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        SavepointReader sp = SavepointReader.read(env, savepointPath, new HashMapStateBackend());
        List<Entry> out = new ArrayList<>();
        try (ResidentStreams rebuild = model.residentStreams(1);
                CloseableIterator<Tuple3<String, byte[], byte[]>> it = sp
                .readKeyedState(OperatorIdentifier.forUid(uid), new Reader(serializer, key),
                        Types.STRING, Types.TUPLE(Types.STRING, Types.PRIMITIVE_ARRAY(Types.BYTE),
                                Types.PRIMITIVE_ARRAY(Types.BYTE)))
                .executeAndCollect("gdn state inspect")) {
            while (it.hasNext()) {
                Tuple3<String, byte[], byte[]> t = it.next();
                if (t.f1.length == MISSING.length) {
                    // the state lists the key but its memory is not where the key's hash puts it: the key was
                    // changed in the file (the job refuses such a savepoint too)
                    throw new MemoryFormatException("the savepoint lists stream '"
                            + dev.gdn.operator.Reasons.quote(t.f0) + "' but holds no memory under it: the checkpoint "
                            + "or savepoint was altered");
                }
                StreamMemory m = null;
                if (t.f1.length > 0) {
                    m = serializer.deserialize(new DataInputDeserializer(t.f1));
                    StreamBinding.check(serializer.bind(m), t.f0);
                }
                if (t.f2.length > 0) {
                    TokenLogFormat.Log log = TokenLogFormat.decode(t.f2, t.f0, serializer.fingerprint(),
                            ModelChangePolicy.FAIL, model.config().vocabSize());
                    TokenLogFormat.checkContinues(log, m, t.f0);
                    out.add(new Entry(t.f0, rebuilt(rebuild, m, log.tokens(), t.f0), log.tokens().length));
                } else if (m != null) {
                    out.add(new Entry(t.f0, m, -1));
                }
            }
        }
        out.sort(java.util.Comparator.comparing(Entry::key));
        return out;
    }

    /** The memory {@code tokens} make on top of {@code base} (null: an empty memory), bound to its stream. */
    private static StreamMemory rebuilt(ResidentStreams slots, StreamMemory base, int[] tokens, String key) {
        if (base == null) {
            slots.reset(0);
        } else {
            slots.load(0, base);
        }
        if (tokens.length > 0) {
            slots.advance(new int[] {0}, new int[] {0, tokens.length}, tokens);
        }
        StreamMemory m = slots.store(0);
        m.bindTo(StreamBinding.digest(key));
        return m;
    }

    /**
     * Emits (key, serialized memory, token log) for every key; keys other than the one asked for carry no
     * bytes (every key emits exactly one record: the state reader operator of Flink 2.2 fails on keys that
     * emit none).
     */
    static final class Reader extends KeyedStateReaderFunction<String, Tuple3<String, byte[], byte[]>> {
        private static final long serialVersionUID = 1L;
        private static final byte[] NONE = new byte[0];
        private final StreamMemorySerializer serializer;
        private final String onlyKey;
        private transient ValueState<StreamMemory> memory;
        private transient ValueState<byte[]> logs;

        Reader(StreamMemorySerializer serializer, String onlyKey) {
            this.serializer = serializer;
            this.onlyKey = onlyKey;
        }

        @Override
        public void open(OpenContext ctx) {
            memory = getRuntimeContext().getState(StreamMemoryState.descriptor(serializer, Duration.ZERO));
            logs = getRuntimeContext().getState(new ValueStateDescriptor<>(TokenLogFormat.STATE_NAME,
                    PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        }

        @Override
        public void readKey(String key, Context ctx, Collector<Tuple3<String, byte[], byte[]>> out) throws Exception {
            boolean wanted = onlyKey == null || onlyKey.equals(key);
            StreamMemory m = wanted ? memory.value() : null;
            byte[] log = wanted ? logs.value() : null;
            // checked on the client, where the error is one line and not raced by the job's own shutdown
            byte[] bytes = wanted && m == null && log == null ? MISSING : NONE;
            if (m != null) {
                DataOutputSerializer buf = new DataOutputSerializer(1 << 16);
                serializer.serialize(m, buf);
                bytes = buf.getCopyOfBuffer();
            }
            out.collect(Tuple3.of(key, bytes, log == null ? NONE : log));
        }
    }
}
