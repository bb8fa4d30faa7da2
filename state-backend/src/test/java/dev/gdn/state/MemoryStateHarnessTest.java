package dev.gdn.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ModelFingerprint;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.SavepointType;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stream memories in real Flink keyed state: snapshot under RocksDB (incremental), restore under
 * RocksDB and under hashmap, and the streams go on exactly as if nothing had happened.
 */
@Timeout(300)
class MemoryStateHarnessTest {
    @TempDir
    static java.nio.file.Path checkpoints;

    /** File-backed checkpoint storage: memories of many MB exceed the in-memory storage's 5 MB limit. */
    static void storeOnDisk(KeyedOneInputStreamOperatorTestHarness<String, String, String> h) {
        h.setCheckpointStorage(new org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage(
                checkpoints.toUri()));
    }

    /** Event "key:t1,t2,..." -> advances the key's memory, emits "key:tokens:hash(logits)". */
    static final class AdvanceMemory extends KeyedProcessFunction<String, String, String> {
        private static final long serialVersionUID = 1L;
        private final String modelDir;
        private final Duration ttl;
        private transient GatedDeltaNetModel model;
        private transient StreamMemorySerializer serializer;
        private transient ValueState<StreamMemory> memory;

        AdvanceMemory(String modelDir, Duration ttl) {
            this.modelDir = modelDir;
            this.ttl = ttl;
        }

        @Override
        public void open(OpenContext ctx) {
            model = GatedDeltaNetModel.load(java.nio.file.Path.of(modelDir), CpuKernels.fast(1, 64));
            serializer = new StreamMemorySerializer(MemoryLayout.of(model.config()), model.fingerprint(),
                    StorageDType.FP32, ModelChangePolicy.FAIL);
            memory = getRuntimeContext().getState(StreamMemoryState.descriptor(serializer, ttl));
        }

        @Override
        public void processElement(String value, Context ctx, Collector<String> out) throws Exception {
            int[] tokens = Arrays.stream(value.substring(value.indexOf(':') + 1).split(","))
                    .mapToInt(Integer::parseInt).toArray();
            StreamMemory m = memory.value();
            m = m == null ? model.newMemory() : serializer.bind(m);
            float[] logits = model.forward(List.of(new StreamInput(m, tokens))).logits();
            memory.update(m);
            out.collect(ctx.getCurrentKey() + ":" + m.tokensConsumed() + ":" + Arrays.hashCode(logits));
        }
    }

    static KeyedOneInputStreamOperatorTestHarness<String, String, String> harness(StateBackend backend, Duration ttl)
            throws Exception {
        var op = new KeyedProcessOperator<>(new AdvanceMemory(TestModels.dir("h1-swa").toString(), ttl));
        var h = new KeyedOneInputStreamOperatorTestHarness<>(op, (String v) -> v.substring(0, v.indexOf(':')),
                Types.STRING);
        h.setStateBackend(backend);
        storeOnDisk(h);
        return h;
    }

    static List<String> events(long seed) {
        Random r = new Random(seed);
        List<String> e = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            int n = 1 + r.nextInt(r.nextInt(4) == 0 ? 30 : 3);
            StringBuilder sb = new StringBuilder("stream-" + r.nextInt(5) + ":");
            for (int t = 0; t < n; t++) {
                sb.append(t == 0 ? "" : ",").append(r.nextInt(256));
            }
            e.add(sb.toString());
        }
        return e;
    }

    /**
     * An incremental checkpoint when the backend stays the same; a canonical savepoint when it changes
     * (as in production: a checkpoint is specific to its backend, a canonical savepoint is not).
     */
    static OperatorSubtaskState snapshot(KeyedOneInputStreamOperatorTestHarness<String, String, String> h,
            StateBackend from, StateBackend to) throws Exception {
        if (from.getClass() == to.getClass()) {
            return h.snapshot(1L, 1L);
        }
        return h.snapshotWithLocalState(1L, 1L, SavepointType.savepoint(SavepointFormatType.CANONICAL))
                .getJobManagerOwnedState();
    }

    static List<String> run(StateBackend first, StateBackend second, List<String> events, int cut) throws Exception {
        List<String> out = new ArrayList<>();
        OperatorSubtaskState snap;
        try (var h = harness(first, Duration.ZERO)) {
            h.open();
            for (int i = 0; i < cut; i++) {
                h.processElement(events.get(i), i);
            }
            snap = snapshot(h, first, second);
            out.addAll(h.extractOutputValues());
        }
        try (var h = harness(second, Duration.ZERO)) {
            h.initializeState(snap);
            h.open();
            for (int i = cut; i < events.size(); i++) {
                h.processElement(events.get(i), i);
            }
            out.addAll(h.extractOutputValues());
        }
        return out;
    }

    @Test
    void snapshotUnderRocksDbRestoresUnderRocksDbAndHashmapBitForBit() throws Exception {
        List<String> events = events(1);
        List<String> uninterrupted = new ArrayList<>();
        try (var h = harness(new HashMapStateBackend(), Duration.ZERO)) {
            h.open();
            for (int i = 0; i < events.size(); i++) {
                h.processElement(events.get(i), i);
            }
            uninterrupted.addAll(h.extractOutputValues());
        }
        assertThat(uninterrupted).hasSize(events.size());
        assertThat(run(new EmbeddedRocksDBStateBackend(true), new EmbeddedRocksDBStateBackend(true), events, 17))
                .containsExactlyElementsOf(uninterrupted);
        assertThat(run(new EmbeddedRocksDBStateBackend(true), new HashMapStateBackend(), events, 23))
                .containsExactlyElementsOf(uninterrupted);
        assertThat(run(new HashMapStateBackend(), new EmbeddedRocksDBStateBackend(), events, 9))
                .containsExactlyElementsOf(uninterrupted);
    }

    /** Writes seeded random memories of ~19 MiB per key and reads them back after a restore. */
    static final class BigMemory extends KeyedProcessFunction<String, String, String> {
        private static final long serialVersionUID = 1L;
        private transient StreamMemorySerializer serializer;
        private transient ValueState<StreamMemory> memory;

        static MemoryLayout layout() {
            List<dev.gdn.kernels.layers.MemoryShape> l = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                l.add(dev.gdn.kernels.layers.MemoryShape.of(dev.gdn.kernels.layers.LayerKinds.GATED_DELTANET, 6, 256,
                        512, 3, 1536, 3072));
            }
            return new MemoryLayout(l);
        }

        @Override
        public void open(OpenContext ctx) {
            byte[] fp = new byte[ModelFingerprint.BYTES];
            fp[0] = 42;
            serializer = new StreamMemorySerializer(layout(), ModelFingerprint.of(fp), StorageDType.FP32,
                    ModelChangePolicy.FAIL);
            memory = getRuntimeContext().getState(StreamMemoryState.descriptor(serializer, Duration.ZERO));
        }

        @Override
        public void processElement(String value, Context ctx, Collector<String> out) throws Exception {
            if (value.endsWith(":write")) {
                StreamMemory m = serializer.createInstance();
                Random r = new Random(ctx.getCurrentKey().hashCode());
                for (int i = 0; i < m.layerCount(); i++) {
                    float[] s = ((dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory) m.layer(i)).state();
                    for (int j = 0; j < s.length; j += 97) {
                        s[j] = r.nextFloat();
                    }
                }
                memory.update(m);
                out.collect(ctx.getCurrentKey() + ":" + m.hashCode());
            } else {
                StreamMemory m = memory.value();
                out.collect(ctx.getCurrentKey() + ":" + (m == null ? "none" : m.hashCode() + ":" + m.payloadBytes()));
            }
        }
    }

    @Test
    void memoriesOfTensOfMegabytesSurviveAnIncrementalRocksDbCheckpoint() throws Exception {
        OperatorSubtaskState checkpoint;
        OperatorSubtaskState savepoint;
        List<String> written;
        var key = (org.apache.flink.api.java.functions.KeySelector<String, String>) v -> v.substring(0, v.indexOf(':'));
        try (var h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new BigMemory()), key,
                Types.STRING)) {
            h.setStateBackend(new EmbeddedRocksDBStateBackend(true));
            storeOnDisk(h);
            h.open();
            for (String k : List.of("a", "b", "c")) {
                h.processElement(k + ":write", 0);
            }
            checkpoint = h.snapshot(1, 1);
            savepoint = h.snapshotWithLocalState(2, 2, SavepointType.savepoint(SavepointFormatType.CANONICAL))
                    .getJobManagerOwnedState();
            written = new ArrayList<>(h.extractOutputValues());
        }
        assertThat(BigMemory.layout().payloadBytes(StorageDType.FP32)).isGreaterThan(18L << 20);
        for (StateBackend restoreInto : List.<StateBackend>of(new EmbeddedRocksDBStateBackend(true),
                new HashMapStateBackend())) {
            try (var h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new BigMemory()), key,
                    Types.STRING)) {
                h.setStateBackend(restoreInto);
                storeOnDisk(h);
                h.initializeState(restoreInto instanceof HashMapStateBackend ? savepoint : checkpoint);
                h.open();
                for (String k : List.of("a", "b", "c", "d")) {
                    h.processElement(k + ":read", 2);
                }
                List<String> read = h.extractOutputValues();
                for (int i = 0; i < 3; i++) {
                    assertThat(read.get(i)).startsWith(written.get(i) + ":");
                }
                assertThat(read.get(3)).isEqualTo("d:none");
            }
        }
    }

    @Test
    void idleStreamsAreDroppedAfterTheirTimeToLive() throws Exception {
        try (var h = harness(new HashMapStateBackend(), Duration.ofSeconds(60))) {
            h.open();
            h.setStateTtlProcessingTime(0);
            h.processElement("stream-1:5,6,7", 0);
            h.processElement("stream-2:5,6,7", 0);
            h.setStateTtlProcessingTime(50_000);
            h.processElement("stream-2:8", 1); // stream-2 stays active
            h.setStateTtlProcessingTime(100_000);
            h.processElement("stream-1:8", 2); // 100 s idle: forgotten, starts afresh
            h.processElement("stream-2:9", 3); // 50 s idle: kept
            List<String> out = h.extractOutputValues();
            assertThat(out).hasSize(5);
            assertThat(out.get(3)).startsWith("stream-1:1:");
            assertThat(out.get(4)).startsWith("stream-2:5:");
        }
    }
}
