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

    /**
     * Stores, for stream "s<n>", the memory after n + 1 tokens, once, and for stream "y<n>" those tokens as
     * the job keeps a young stream (a token log); counts the streams stored.
     */
    static final class StoreMemories extends KeyedProcessFunction<String, String, String> {
        private static final long serialVersionUID = 1L;
        static final CountDownLatch STORED = new CountDownLatch(5);
        private transient GatedDeltaNetModel model;
        private transient ValueState<StreamMemory> memory;
        private transient ValueState<byte[]> log;

        @Override
        public void open(OpenContext ctx) {
            model = GatedDeltaNetModel.load(MODEL, CpuKernels.fast(1, 64));
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
                STORED.countDown();
            } else if (key.startsWith("y") && log.value() == null) {
                log.update(dev.gdn.state.TokenLogFormat.encode(model.fingerprint(), key, 0, tokensOf(key)));
                STORED.countDown();
            } else if (key.startsWith("s") && memory.value() == null) {
                memory.update(memoryOf(model, key));
                STORED.countDown();
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

    /** A minimal keyed streaming job on a MiniCluster, stopped with a canonical savepoint. */
    @BeforeAll
    static void writeSavepoint() throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        String[] keys = {"s0", "s4", "s9", "y3", "m2"};
        DataGeneratorSource<String> source = new DataGeneratorSource<>(i -> keys[(int) (i % keys.length)], Long.MAX_VALUE,
                RateLimiterStrategy.perSecond(50), Types.STRING);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "keys")
                .keyBy(k -> k)
                .process(new StoreMemories()).uid(SavepointMemories.DEFAULT_UID)
                .sinkTo(new DiscardingSink<>());
        JobClient job = env.executeAsync("store memories");
        assertThat(StoreMemories.STORED.await(60, TimeUnit.SECONDS)).as("memories stored").isTrue();
        savepoint = Path.of(job.stopWithSavepoint(false, dir.resolve("savepoints").toUri().toString(),
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
