package dev.gdn.bench;

import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.layers.kda.KdaChunkedRule;
import dev.gdn.kernels.layers.kda.KdaInputs;
import dev.gdn.kernels.layers.kda.KdaRule;
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

/**
 * The Kimi delta rule alone on one thread, one value head over one run: token by token against chunkwise,
 * on FLA's KDA head (K = V = 128) and a large one (K = V = 256), with decays of a trained model's size
 * (per channel about -0.05 a token: every chunk takes the fp32 form). Which form wins decides from which
 * run length and head size the CPU model takes the chunkwise one.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class KdaRuleBenchmark {
    @Param({"128", "256"})
    public int width;

    @Param({"64", "256"})
    public int tokens;

    KdaInputs in;
    float[] state;
    float[] out;
    KdaRule recurrent;
    KdaChunkedRule chunked;

    @Setup(Level.Trial)
    public void setup() {
        DeltaRuleShape s = new DeltaRuleShape(1, 1, width, width);
        SplittableRandom r = new SplittableRandom(1);
        float[] q = unitRows(r, tokens, width);
        float[] k = unitRows(r, tokens, width);
        float[] v = new float[tokens * width];
        float[] g = new float[tokens * width];
        float[] beta = new float[tokens];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
            g[i] = (float) (-0.1 * r.nextDouble());
        }
        for (int t = 0; t < tokens; t++) {
            beta[t] = (float) r.nextDouble();
        }
        in = new KdaInputs(s, 0, tokens, q, k, v, g, beta, (float) Math.pow(width, -0.5));
        state = new float[s.stateSize()];
        out = new float[tokens * width];
        recurrent = new KdaRule(VectorMath.best());
        chunked = new KdaChunkedRule(VectorMath.best());
    }

    private static float[] unitRows(SplittableRandom r, int rows, int width) {
        float[] a = new float[rows * width];
        for (int i = 0; i < rows; i++) {
            double n = 0;
            for (int c = 0; c < width; c++) {
                a[i * width + c] = (float) r.nextGaussian();
                n += a[i * width + c] * a[i * width + c];
            }
            for (int c = 0; c < width; c++) {
                a[i * width + c] /= (float) Math.sqrt(n);
            }
        }
        return a;
    }

    @Benchmark
    public float[] tokenByToken() {
        recurrent.forwardHead(in, 0, state, 0, out);
        return out;
    }

    @Benchmark
    public float[] chunkwise() {
        chunked.forwardHead(in, 0, state, 0, out);
        return out;
    }
}
