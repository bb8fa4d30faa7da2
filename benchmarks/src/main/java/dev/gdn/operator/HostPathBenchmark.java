package dev.gdn.operator;

import dev.gdn.job.BoundedRecords;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.NoOpResidentStreams;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * The host path alone: what one event costs the job around the engine, on one thread. A bundle of
 * {@value #BUNDLE} Kafka records (recall-style events of 2-3 tokens, JSON) is parsed into events, run
 * through the {@link BundleCore} over {@link NoOpResidentStreams} (an engine that computes nothing, so
 * every cost left is the host's: buffering, the memory cache, scoring top-5 from the engine's scores,
 * JSON results) and each result made into the Kafka record the sink sends. Keyed state is a hash map
 * (what the hashmap backend's per-key access is, without Flink). Streams: {@code streams} distinct keys,
 * drawn uniformly; a cache of {@code slots} (with 100,000 streams over 20,000 slots, most events admit a
 * stream and evict another, written back). Score: events per second.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
public class HostPathBenchmark {
    static final int BUNDLE = 256;

    @Param({"256", "100000"})
    public int streams;

    @Param({"20000"})
    public int slots;

    EventParser parser;
    BundleCore core;
    byte[][] keys;
    byte[][] values;
    int next;

    @Setup(Level.Trial)
    public void setup() {
        GatedDeltaNetModel model = GatedDeltaNetModel.load(java.nio.file.Path.of(
                System.getProperty("gdn.model", "models/recall")), dev.gdn.kernels.model.CpuKernels.fast(1, 64));
        parser = new EventParser(model.config().vocabSize(), 4096);
        BundleCore.Settings settings = new BundleCore.Settings(0, 0, null, 0, true, 64, 0);
        core = new BundleCore(model, NoOpResidentStreams.of(model, Math.min(slots, streams)),
                new EventScorer(model, 5, false), null, settings, new MapStore());
        SplittableRandom r = new SplittableRandom(1);
        int n = 1 << 16;
        keys = new byte[n][];
        values = new byte[n][];
        for (int i = 0; i < n; i++) {
            keys[i] = ("s" + r.nextInt(streams)).getBytes(StandardCharsets.UTF_8);
            String tokens = r.nextBoolean() ? "[1," + (16 + r.nextInt(128)) + "," + (256 + r.nextInt(128)) + "]"
                    : "[2," + (16 + r.nextInt(128)) + "]";
            values[i] = ("{\"id\":\"e" + i + "\",\"tokens\":" + tokens + "}").getBytes(StandardCharsets.UTF_8);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        core.close();
    }

    /** One bundle: parse, buffer per key, run, results made into Kafka records. */
    @Benchmark
    @OperationsPerInvocation(BUNDLE)
    public long bundle() throws Exception {
        Map<String, List<StreamEvent>> bundle = new LinkedHashMap<>();
        for (int i = 0; i < BUNDLE; i++) {
            int at = next++ & (keys.length - 1);
            EventParser.Parsed p = parser.parse(keys[at], values[at]);
            bundle.computeIfAbsent(p.event().stream, k -> new ArrayList<>()).add(p.event());
        }
        long[] bytes = {0};
        core.run(bundle, 0, res -> bytes[0] += BoundedRecords.result("results", "dead", res.stream, res.jsonUtf8(),
                1 << 20, 1 << 16).value().length);
        return bytes[0];
    }
}
