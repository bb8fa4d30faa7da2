package dev.gdn.bench;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.RandomWeights;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The whole batched forward (projections, convolutions, delta rule, norms, MLP) on the fast CPU
 * kernels with random weights: {@code decode} = one token for each of 64 streams, {@code pieces} =
 * 64 tokens for each of 16 streams. {@code gdn-tiny} includes its LM head; {@code fla-1b-layer} is
 * one FLA-1B block (hidden 2048, 6 heads, K 256, V 512, MLP 5632) without embeddings or LM head.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ModelForwardBenchmark {
    @Param({"gdn-tiny", "fla-1b-layer"})
    public String shape;

    @Param({"decode", "pieces"})
    public String mode;

    GatedDeltaNetModel model;
    List<StreamInput> batch;
    boolean logits;

    public int streams() {
        return mode.equals("decode") ? 64 : 16;
    }

    public int tokensPerStream() {
        return mode.equals("decode") ? 1 : 64;
    }

    @Setup(Level.Trial)
    public void setup() {
        ModelConfig c = shape.equals("gdn-tiny")
                ? new ModelConfig(384, 128, 2, 2, 64, 128, 3, 4, true, true, false, 1e-6f, 512, false)
                : RandomWeights.fla1b(1);
        logits = shape.equals("gdn-tiny");
        model = new GatedDeltaNetModel(c, RandomWeights.of(c, 7), CpuKernels.fast());
        SplittableRandom r = new SplittableRandom(3);
        batch = new ArrayList<>();
        for (int s = 0; s < streams(); s++) {
            StreamMemory m = model.newMemory();
            int[] t = new int[tokensPerStream()];
            for (int i = 0; i < t.length; i++) {
                t[i] = r.nextInt(c.vocabSize());
            }
            batch.add(new StreamInput(m, t));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.kernels().parallel().close();
    }

    @Benchmark
    public float forward() {
        return model.forward(batch, logits).hidden()[0];
    }
}
