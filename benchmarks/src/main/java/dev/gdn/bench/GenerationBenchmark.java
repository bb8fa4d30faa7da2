package dev.gdn.bench;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.GenerationSettings;
import dev.gdn.kernels.model.Generator;
import dev.gdn.kernels.model.StreamInput;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
 * Generation on the CPU with the bundled recall model: {@code concurrent} streams (each told 32 tokens
 * of facts first) each generate 16 tokens greedily from a one-token prompt, batched (one forward per
 * generated token for all of them), each on a copy of its stream's memory (the fork is in the time, as
 * in the job). Time per call; generated tokens/s = concurrent x 16 / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class GenerationBenchmark {
    /** Tokens each generation produces. */
    public static final int TOKENS = 16;

    @Param({"1", "64", "256", "1024"})
    public int concurrent;

    @Param({"models/recall"})
    public String model;

    GatedDeltaNetModel m;
    Generator generator;
    List<Generator.Request> requests;

    @Setup(Level.Trial)
    public void setup() {
        m = GatedDeltaNetModel.load(Path.of(model), CpuKernels.fast());
        generator = new Generator(m);
        SplittableRandom r = new SplittableRandom(5);
        List<StreamInput> told = new ArrayList<>();
        for (int i = 0; i < concurrent; i++) {
            int[] facts = new int[32];
            for (int t = 0; t < facts.length; t++) {
                facts[t] = r.nextInt(m.config().vocabSize());
            }
            told.add(new StreamInput(m.newMemory(), facts));
        }
        m.forward(told, false);
        requests = new ArrayList<>();
        for (StreamInput in : told) {
            requests.add(new Generator.Request(in.memory(), new int[] {2}, GenerationSettings.greedy(TOKENS)));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        m.kernels().parallel().close();
    }

    @Benchmark
    public int generate() {
        return generator.generate(requests).get(0).ids()[0];
    }

    /**
     * The ceiling: the same 16 batched passes (the prompt, then 15 one-token steps: the last token needs
     * no pass) straight through the model on the streams' own memories, without forks, sampling or stop
     * checks.
     */
    @Benchmark
    public float forwardPassesOnly() {
        List<StreamInput> step = new ArrayList<>(requests.size());
        for (Generator.Request q : requests) {
            step.add(new StreamInput(q.memory(), new int[] {2}));
        }
        float x = 0;
        for (int t = 0; t < TOKENS; t++) {
            x += m.forward(step).logits()[0];
        }
        return x;
    }
}
