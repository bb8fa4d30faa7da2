package dev.gdn.bench;

import dev.gdn.kernels.cpu.Parallel;
import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.deltarule.ChunkedGatedDeltaRule;
import dev.gdn.kernels.deltarule.DeltaRuleInputs;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.deltarule.FusedRecurrentGatedDeltaRule;
import dev.gdn.kernels.deltarule.GatedDeltaRule;
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
 * The gated delta rule alone (no projections) over many streams, all threads, next to a memory copy
 * of the same number of bytes: the ceiling for the one-token step, which must read and write every
 * state once.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class DeltaRuleBenchmark {
    /** gdn-tiny: H2 K64 V128; fla-1b: H6 K256 V512. */
    @Param({"gdn-tiny", "fla-1b"})
    public String shape;

    /** Tokens per stream per call. */
    @Param({"1", "64"})
    public int tokens;

    @Param({"64"})
    public int streams;

    DeltaRuleShape s;
    float[] state;
    float[] copy;
    float[] q;
    float[] k;
    float[] v;
    float[] g;
    float[] beta;
    float[] out;
    Parallel par;
    GatedDeltaRule fused;
    GatedDeltaRule chunked;

    @Setup(Level.Trial)
    public void setup() {
        s = shape.equals("fla-1b") ? new DeltaRuleShape(6, 6, 256, 512) : new DeltaRuleShape(2, 2, 64, 128);
        SplittableRandom r = new SplittableRandom(1);
        state = new float[streams * s.stateSize()];
        copy = new float[state.length];
        int rows = streams * tokens;
        q = unitRows(r, rows * s.heads(), s.keyDim());
        k = unitRows(r, rows * s.heads(), s.keyDim());
        v = fill(r, rows * s.vRowSize(), 1f);
        g = new float[rows * s.valueHeads()];
        beta = new float[g.length];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) (-0.05 * r.nextDouble());
            beta[i] = (float) r.nextDouble();
        }
        out = new float[rows * s.vRowSize()];
        par = Parallel.of(Runtime.getRuntime().availableProcessors());
        fused = new FusedRecurrentGatedDeltaRule(VectorMath.best());
        chunked = new ChunkedGatedDeltaRule(VectorMath.best());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        par.close();
    }

    /** Bytes of all states: the one-token step reads and writes each once. */
    public long stateBytes() {
        return 4L * streams * s.stateSize();
    }

    private void run(GatedDeltaRule rule) {
        int hv = s.valueHeads();
        float scale = (float) (1 / Math.sqrt(s.keyDim()));
        par.forEach(streams * hv, task -> {
            int n = task / hv;
            int j = task % hv;
            DeltaRuleInputs in = new DeltaRuleInputs(s, n * tokens, tokens, q, k, v, g, beta, scale);
            rule.forwardHead(in, j, state, n * s.stateSize() + j * s.headStateSize(), out);
        });
    }

    @Benchmark
    public float fusedRecurrent() {
        run(fused);
        return state[0];
    }

    @Benchmark
    public float chunked() {
        run(chunked);
        return state[0];
    }

    /** The ceiling: copy the same bytes, split over the same threads. */
    @Benchmark
    public float copyStates() {
        int parts = streams;
        int len = state.length / parts;
        par.forEach(parts, p -> System.arraycopy(state, p * len, copy, p * len, len));
        return copy[0];
    }

    static float[] fill(SplittableRandom r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    static float[] unitRows(SplittableRandom r, int rows, int width) {
        float[] a = fill(r, rows * width, 1f);
        for (int i = 0; i < rows; i++) {
            double ss = 0;
            for (int j = 0; j < width; j++) {
                ss += a[i * width + j] * a[i * width + j];
            }
            float inv = (float) (1 / Math.sqrt(ss));
            for (int j = 0; j < width; j++) {
                a[i * width + j] *= inv;
            }
        }
        return a;
    }
}
