package dev.gdn.bench;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ModelWeights;
import dev.gdn.kernels.model.RandomWeights;
import dev.gdn.kernels.model.StreamInput;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The classification head's cost next to the model's, per bundle of 64 events of 2 tokens ({@code QRY
 * s5}) on the shape of the summary demo model (hidden 256, 4 layers, 4 heads, K 64, V 128, vocabulary
 * 384) with random weights and a 3-class head: {@code forward} advances 64 streams by one event with the
 * LM head (as the job scores every event), {@code classify} applies the head to the 64 final hidden states
 * (as the job does for every event of a model with a head).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ClassificationHeadBenchmark {
    static final int EVENTS = 64;

    GatedDeltaNetModel model;
    List<StreamInput> batch;
    float[] hidden;

    @Setup(Level.Trial)
    public void setup() {
        ModelConfig shape = new ModelConfig(384, 256, 4, 4, 64, 128, 4, 4, true, true, false, 1e-6f, 768, false);
        ModelConfig c = shape.withLabels(List.of("high", "low", "none"));
        ModelWeights w = RandomWeights.of(shape, 7);
        SplittableRandom r = new SplittableRandom(3);
        float[] score = new float[3 * c.hiddenSize()];
        for (int i = 0; i < score.length; i++) {
            score[i] = (float) r.nextGaussian() * 0.05f;
        }
        model = new GatedDeltaNetModel(c, new ModelWeights(w.embeddings(), w.layers(), w.finalNorm(), w.lmHead(), score,
                new float[] {0.1f, -0.2f, 0.3f}), CpuKernels.fast());
        batch = new ArrayList<>();
        for (int s = 0; s < EVENTS; s++) {
            batch.add(new StreamInput(model.newMemory(), new int[] {4, 21}));
        }
        hidden = model.forward(batch, false).hidden();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.kernels().parallel().close();
    }

    @Benchmark
    public float forward() {
        return model.forward(batch, true).logits()[0];
    }

    @Benchmark
    public float classify() {
        int d = model.config().hiddenSize();
        float sum = 0;
        for (int e = 0; e < EVENTS; e++) {
            float[] last = java.util.Arrays.copyOfRange(hidden, (2 * e + 1) * d, (2 * e + 2) * d);
            sum += model.classify(last)[0];
        }
        return sum;
    }
}
