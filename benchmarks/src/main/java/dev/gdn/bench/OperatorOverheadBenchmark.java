package dev.gdn.bench;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.operator.GdnInferenceOperator;
import dev.gdn.operator.GdnOptions;
import dev.gdn.operator.ModelCache;
import dev.gdn.operator.StreamEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the operator costs over the kernels: one bundle of {@code keys} streams (one recall-style event
 * of 2-3 tokens each) through the inference operator (keyed state on the heap, scoring, JSON) versus
 * the same batch through the model's forward with logits alone. Model: {@code models/recall}
 * (run from the repository root, or pass -Dgdn.model=DIR).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class OperatorOverheadBenchmark {
    @Param({"64", "256"})
    public int keys;

    KeyedOneInputStreamOperatorTestHarness<String, StreamEvent, dev.gdn.operator.StreamResult> harness;
    GatedDeltaNetModel model;
    List<StreamEvent> events;
    List<StreamMemory> memories;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        String path = System.getProperty("gdn.model", "models/recall");
        Configuration c = new Configuration();
        c.set(GdnOptions.MODEL_PATH, path);
        c.set(GdnOptions.BATCH_MAX_KEYS, keys);
        c.set(GdnOptions.BATCH_MAX_DELAY, Duration.ofHours(1));
        c.set(GdnOptions.TOP_K, 5);
        harness = new KeyedOneInputStreamOperatorTestHarness<>(new GdnInferenceOperator(c), (StreamEvent e) -> e.stream,
                Types.STRING);
        harness.setStateBackend(new HashMapStateBackend());
        harness.open();
        model = ModelCache.get(path, 0);
        SplittableRandom r = new SplittableRandom(1);
        events = new ArrayList<>();
        memories = new ArrayList<>();
        for (int k = 0; k < keys; k++) {
            int[] t = r.nextBoolean() ? new int[] {1, 16 + r.nextInt(128), 256 + r.nextInt(128)}
                    : new int[] {2, 16 + r.nextInt(128)};
            events.add(new StreamEvent("s" + k, "e" + k, t, false));
            memories.add(model.newMemory());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        harness.close();
    }

    public int tokens() {
        return events.stream().mapToInt(e -> e.tokens.length).sum();
    }

    /** One full bundle through the operator: state reads and writes, forward, scoring, results. */
    @Benchmark
    public int operator() throws Exception {
        for (StreamEvent e : events) {
            harness.processElement(e, 0);
        }
        int n = harness.extractOutputValues().size();
        harness.getOutput().clear();
        return n;
    }

    /** The same batch through the kernels: forward with logits for every token. */
    @Benchmark
    public float kernels() {
        List<StreamInput> batch = new ArrayList<>(keys);
        for (int k = 0; k < keys; k++) {
            batch.add(new StreamInput(memories.get(k), events.get(k).tokens));
        }
        return model.forward(batch, true).logits()[0];
    }
}
