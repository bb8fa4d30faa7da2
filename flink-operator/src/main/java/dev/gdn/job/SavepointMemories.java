package dev.gdn.job;

import dev.gdn.state.StreamMemorySerializer;
import dev.gdn.state.StreamMemoryState;

import dev.gdn.kernels.model.StreamMemory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
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
 * State Processor API (a local batch job).
 */
public final class SavepointMemories {
    /** The uid of the operator that keeps stream memories (the inference operator sets this uid). */
    public static final String DEFAULT_UID = "gdn-stream-memory";

    /** One stream: its key and memory. */
    /** What the reader sends for a key the state lists without a memory under it (a serialized one is longer). */
    private static final byte[] MISSING = {0};

    public record Entry(String key, StreamMemory memory) {
    }

    private SavepointMemories() {
    }

    /**
     * Every stream memory of operator {@code uid}, optionally only the one of {@code key}.
     *
     * @param serializer the serializer of the model the memories belong to (checked against the savepoint)
     */
    public static List<Entry> read(String savepointPath, String uid, StreamMemorySerializer serializer, String key)
            throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        SavepointReader sp = SavepointReader.read(env, savepointPath, new HashMapStateBackend());
        List<Entry> out = new ArrayList<>();
        try (CloseableIterator<Tuple2<String, byte[]>> it = sp
                .readKeyedState(OperatorIdentifier.forUid(uid), new Reader(serializer, key),
                        Types.STRING, Types.TUPLE(Types.STRING, Types.PRIMITIVE_ARRAY(Types.BYTE)))
                .executeAndCollect("gdn state inspect")) {
            while (it.hasNext()) {
                Tuple2<String, byte[]> t = it.next();
                if (t.f1.length == MISSING.length) {
                    // the state lists the key but its memory is not where the key's hash puts it: the key was
                    // changed in the file (the job refuses such a savepoint too)
                    throw new dev.gdn.state.MemoryFormatException("the savepoint lists stream '"
                            + dev.gdn.operator.Reasons.quote(t.f0) + "' but holds no memory under it: the checkpoint "
                            + "or savepoint was altered");
                }
                if (t.f1.length > 0) {
                    StreamMemory m = serializer.deserialize(new DataInputDeserializer(t.f1));
                    dev.gdn.state.StreamBinding.check(serializer.bind(m), t.f0);
                    out.add(new Entry(t.f0, m));
                }
            }
        }
        out.sort(java.util.Comparator.comparing(Entry::key));
        return out;
    }

    /**
     * Emits (key, serialized memory) for every key; keys other than the one asked for carry no bytes
     * (every key emits exactly one record: the state reader operator of Flink 2.2 fails on keys that
     * emit none).
     */
    static final class Reader extends KeyedStateReaderFunction<String, Tuple2<String, byte[]>> {
        private static final long serialVersionUID = 1L;
        private final StreamMemorySerializer serializer;
        private final String onlyKey;
        private transient ValueState<StreamMemory> memory;

        Reader(StreamMemorySerializer serializer, String onlyKey) {
            this.serializer = serializer;
            this.onlyKey = onlyKey;
        }

        @Override
        public void open(OpenContext ctx) {
            memory = getRuntimeContext().getState(StreamMemoryState.descriptor(serializer, Duration.ZERO));
        }

        @Override
        public void readKey(String key, Context ctx, Collector<Tuple2<String, byte[]>> out) throws Exception {
            boolean wanted = onlyKey == null || onlyKey.equals(key);
            StreamMemory m = wanted ? memory.value() : null;
            // checked on the client, where the error is one line and not raced by the job's own shutdown
            byte[] bytes = wanted && m == null ? MISSING : new byte[0];
            if (m != null) {
                DataOutputSerializer buf = new DataOutputSerializer(1 << 16);
                serializer.serialize(m, buf);
                bytes = buf.getCopyOfBuffer();
            }
            out.collect(Tuple2.of(key, bytes));
        }
    }
}
