package dev.gdn.bench;

import dev.gdn.kernels.cpu.Parallel;
import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.ops.Linear;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** One projection {@code y = x W^T}, single thread: the GEMM the whole forward leans on. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LinearBenchmark {
    @Param({"64"})
    public int rows;

    @Param({"128", "2048"})
    public int in;

    @Param({"512"})
    public int out;

    float[] x;
    float[] w;

    @Setup
    public void setup() {
        SplittableRandom r = new SplittableRandom(1);
        x = new float[rows * in];
        w = new float[out * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
    }

    @Benchmark
    public float linear() {
        return Linear.apply(Parallel.sequential(), VectorMath.best(), x, rows, in, w, out, null)[3];
    }
}
