package dev.gdn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.run.SavepointMemories;
import dev.gdn.state.MemoryLayout;
import dev.gdn.state.ModelChangePolicy;
import dev.gdn.state.StorageDType;
import dev.gdn.state.StreamMemorySerializer;
import dev.gdn.state.StreamMemoryState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gdn state inspect} on a savepoint of a minimal keyed streaming job that stores memories
 * computed by gdn-tiny under the operator uid the inference job uses.
 */
@Timeout(300)
class StateInspectCommandTest {
    static final Path MODEL = ParityCommandTest.FLA.resolve("models/gdn-tiny");

    @TempDir
    static Path dir;

    static Path savepoint;
    /** A Kimi Delta Attention hybrid (KDA, attention, KDA) of random weights, and a savepoint of its memories. */
    static Path kdaModel;
    static Path kdaSavepoint;

    /**
     * Stores, for stream "s<n>", the memory after n + 1 tokens, once, and for stream "y<n>" those tokens as
     * the job keeps a young stream (a token log); counts the streams stored.
     */
    static final class StoreMemories extends KeyedProcessFunction<String, String, String> {
        private static final long serialVersionUID = 1L;
        /** Per model folder: counts down as its streams are stored. */
        static final java.util.Map<String, CountDownLatch> STORED = new java.util.concurrent.ConcurrentHashMap<>();
        private final String modelDir;
        private transient GatedDeltaNetModel model;
        private transient ValueState<StreamMemory> memory;
        private transient ValueState<byte[]> log;

        StoreMemories(Path modelDir) {
            this.modelDir = modelDir.toString();
            STORED.put(this.modelDir, new CountDownLatch(5));
        }

        @Override
        public void open(OpenContext ctx) {
            model = GatedDeltaNetModel.load(Path.of(modelDir), CpuKernels.fast(1, 64));
            StreamMemorySerializer s = new StreamMemorySerializer(MemoryLayout.of(model.config()), model.fingerprint(),
                    StorageDType.FP32, ModelChangePolicy.FAIL);
            memory = getRuntimeContext().getState(StreamMemoryState.descriptor(s, Duration.ZERO));
            log = getRuntimeContext().getState(new org.apache.flink.api.common.state.ValueStateDescriptor<>(
                    dev.gdn.state.TokenLogFormat.STATE_NAME,
                    org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        }

        @Override
        public void processElement(String key, Context ctx, Collector<String> out) throws Exception {
            if (key.startsWith("m") && log.value() == null) {
                // the memory after the first token, and the rest as a log on top of it
                int[] all = tokensOf(key);
                StreamMemory first = model.newMemory();
                model.forward(List.of(new StreamInput(first, new int[] {all[0]})), false);
                memory.update(first);
                log.update(dev.gdn.state.TokenLogFormat.encode(model.fingerprint(), key, 1,
                        java.util.Arrays.copyOfRange(all, 1, all.length)));
                STORED.get(modelDir).countDown();
            } else if (key.startsWith("y") && log.value() == null) {
                log.update(dev.gdn.state.TokenLogFormat.encode(model.fingerprint(), key, 0, tokensOf(key)));
                STORED.get(modelDir).countDown();
            } else if (key.startsWith("s") && memory.value() == null) {
                memory.update(memoryOf(model, key));
                STORED.get(modelDir).countDown();
            }
        }
    }

    static int[] tokensOf(String key) {
        int n = Integer.parseInt(key.substring(1)) + 1;
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = (7 * i + 3) % 384;
        }
        return tokens;
    }

    static StreamMemory memoryOf(GatedDeltaNetModel model, String key) {
        StreamMemory m = model.newMemory();
        model.forward(List.of(new StreamInput(m, tokensOf(key))), false);
        return m;
    }

    @BeforeAll
    static void writeSavepoints() throws Exception {
        savepoint = writeSavepoint(MODEL, "savepoints");
        kdaModel = dev.gdn.kernels.model.CheckpointWriter.writeRandom("""
                {"model_type": "kda", "vocab_size": 384, "hidden_size": 64, "num_heads": 2, "num_v_heads": 4,
                 "head_dim": 16, "expand_v": 1.0, "num_hidden_layers": 3, "conv_size": 4, "lower_bound": -5.0,
                 "attn": {"layers": [1], "num_heads": 4, "num_kv_heads": 2, "window_size": 8, "rope_theta": 10000.0}}
                """, 5, dir.resolve("kda-model"));
        kdaSavepoint = writeSavepoint(kdaModel, "kda-savepoints");
    }

    /** A minimal keyed streaming job on a MiniCluster storing memories of {@code model}, stopped with a canonical savepoint. */
    static Path writeSavepoint(Path model, String under) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        String[] keys = {"s0", "s4", "s9", "y3", "m2"};
        DataGeneratorSource<String> source = new DataGeneratorSource<>(i -> keys[(int) (i % keys.length)], Long.MAX_VALUE,
                RateLimiterStrategy.perSecond(50), Types.STRING);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "keys")
                .keyBy(k -> k)
                .process(new StoreMemories(model)).uid(SavepointMemories.DEFAULT_UID)
                .sinkTo(new DiscardingSink<>());
        JobClient job = env.executeAsync("store memories");
        assertThat(StoreMemories.STORED.get(model.toString()).await(60, TimeUnit.SECONDS)).as("memories stored").isTrue();
        return Path.of(job.stopWithSavepoint(false, dir.resolve(under).toUri().toString(),
                SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS).replace("file:", ""));
    }

    @Test
    void listsEveryStream() {
        var r = ParityCommandTest.run("state", "inspect", "--savepoint", savepoint.toString(), "--model", MODEL.toString());
        assertThat(r.code()).as(r.err()).isZero();
        r.out().forEach(System.out::println);
        GatedDeltaNetModel m = GatedDeltaNetModel.load(MODEL, CpuKernels.reference());
        assertThat(r.out()).hasSize(6);
        assertThat(r.out().get(0)).startsWith("stream m2 tokens=3 ").endsWith("(its last 2 tokens kept as tokens, rebuilt)");
        assertThat(r.out().get(1)).startsWith("stream s0 tokens=1 bytes=").contains("fingerprint=" + m.fingerprint().shortHex());
        assertThat(r.out().get(2)).startsWith("stream s4 tokens=5 ");
        assertThat(r.out().get(3)).startsWith("stream s9 tokens=10 ");
        assertThat(r.out().get(4)).startsWith("stream y3 tokens=4 ").endsWith("(its last 4 tokens kept as tokens, rebuilt)");
        assertThat(r.last()).isEqualTo("streams: 5");
    }

    @Test
    void exportsOneStreamAsSafetensors() throws Exception {
        Path file = dir.resolve("s4.safetensors");
        var r = ParityCommandTest.run("state", "inspect", "--savepoint", savepoint.toString(), "--model",
                MODEL.toString(), "--key", "s4", "--export", file.toString());
        assertThat(r.code()).as(r.err()).isZero();
        GatedDeltaNetModel m = GatedDeltaNetModel.load(MODEL, CpuKernels.fast(1, 64));
        StreamMemory expected = memoryOf(m, "s4");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThat(f.info("layers.2.recurrent_state").hasShape(2, 64, 128)).isTrue();
            assertThat(f.floats("layers.2.recurrent_state"))
                    .containsExactly(((DeltaNetLayerMemory) expected.layer(2)).state());
            assertThat(f.floats("layers.0.conv_state.v")).containsExactly(((DeltaNetLayerMemory) expected.layer(0)).convV());
            assertThat(f.metadata()).containsEntry("tokens_consumed", "5").containsEntry("fingerprint", m.fingerprint().hex());
        }
    }

    /**
     * A stream kept as its tokens (from an empty memory, or on top of a stored one) exports the memory
     * those tokens make, bit for bit.
     */
    @Test
    void aStreamWithATokenLogIsRebuiltAndExportedAsItsMemory() throws Exception {
        for (String key : new String[] {"y3", "m2"}) {
            Path file = dir.resolve(key + ".safetensors");
            var r = ParityCommandTest.run("state", "inspect", "--savepoint", savepoint.toString(), "--model",
                    MODEL.toString(), "--key", key, "--export", file.toString());
            assertThat(r.code()).as(r.err()).isZero();
            StreamMemory expected = memoryOf(GatedDeltaNetModel.load(MODEL, CpuKernels.fast(1, 64)), key);
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertThat(f.floats("layers.2.recurrent_state")).as(key)
                        .containsExactly(((DeltaNetLayerMemory) expected.layer(2)).state());
                assertThat(f.floats("layers.1.conv_state.k")).as(key)
                        .containsExactly(((DeltaNetLayerMemory) expected.layer(1)).convK());
                assertThat(f.metadata()).containsEntry("tokens_consumed", String.valueOf(expected.tokensConsumed()));
            }
        }
    }

    /**
     * A KDA hybrid's savepoint: every stream listed, and a stream's export holds its KDA layers' states and
     * caches (under the delta-rule names, bit for bit the memory the model makes) and its attention layer's ring.
     */
    @Test
    void aKdaModelsSavepointIsListedAndExportedLayerByLayer() throws Exception {
        var list = ParityCommandTest.run("state", "inspect", "--savepoint", kdaSavepoint.toString(), "--model",
                kdaModel.toString());
        assertThat(list.code()).as(list.err()).isZero();
        list.out().forEach(System.out::println);
        assertThat(list.out().get(2)).startsWith("stream s4 tokens=5 ");
        assertThat(list.last()).isEqualTo("streams: 5");
        Path file = dir.resolve("kda-s9.safetensors");
        var r = ParityCommandTest.run("state", "inspect", "--savepoint", kdaSavepoint.toString(), "--model",
                kdaModel.toString(), "--key", "s9", "--export", file.toString());
        assertThat(r.code()).as(r.err()).isZero();
        GatedDeltaNetModel m = GatedDeltaNetModel.load(kdaModel, CpuKernels.fast(1, 64));
        StreamMemory expected = memoryOf(m, "s9");
        assertThat(expected.layer(0).kind()).isSameAs(dev.gdn.kernels.layers.LayerKinds.KDA);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThat(f.info("layers.2.recurrent_state").hasShape(4, 16, 16)).isTrue();
            assertThat(f.floats("layers.2.recurrent_state"))
                    .containsExactly(((DeltaNetLayerMemory) expected.layer(2)).state());
            assertThat(f.floats("layers.0.conv_state.q")).containsExactly(((DeltaNetLayerMemory) expected.layer(0)).convQ());
            // the attention layer's ring, oldest first: the window's 8 of the stream's 10 tokens
            assertThat(f.info("layers.1.attn_keys").hasShape(8, 32)).isTrue();
            assertThat(f.metadata()).containsEntry("tokens_consumed", "10").containsEntry("fingerprint", m.fingerprint().hex());
        }
    }

    @Test
    void anotherModelIsANamedError() {
        Path other = ParityCommandTest.FLA.resolve("models/gdn-gva-negeig");
        var r = ParityCommandTest.run("state", "inspect", "--savepoint", savepoint.toString(), "--model", other.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("computed by model");
    }

    @Test
    void unknownKey() {
        var r = ParityCommandTest.run("state", "inspect", "--savepoint", savepoint.toString(), "--model", MODEL.toString(),
                "--key", "nope");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--key 'nope': no such stream");
    }
}
