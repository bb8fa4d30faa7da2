package dev.gdn.kernels.cuda;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.io.HalfFloats;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.ops.Activations;
import dev.gdn.kernels.ops.Norms;
import dev.gdn.kernels.ops.ShortConvolution;
import java.util.Random;
import org.bytedeco.javacpp.ShortPointer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each kernel of {@code model_ops.cu} on its own against its CPU counterpart in {@code ops/} (or the
 * model's own arithmetic where there is no op), on random inputs of awkward sizes, on the device. The
 * attention, scoring and row-copy kernels are held to their CPU forms by CudaForwardTest,
 * CudaRowScoresTest and CudaResidentStreamsTest.
 */
@Tag("gpu")
@Timeout(120)
class CudaModelOpsTest {
    private static final double TOL = 1e-6;
    private final Random r = new Random(11);
    private final VectorMath math = CpuKernels.reference().math();
    private CudaDevice d;
    private CudaModelOps ops;

    @BeforeEach
    void open() {
        Gpu.require();
        d = new CudaDevice(0);
        ops = new CudaModelOps(d, 4);
    }

    @AfterEach
    void close() {
        if (ops != null) {
            ops.close();
        }
        if (d != null) {
            d.close();
        }
    }

    private float[] gaussian(int n, float s) {
        return CudaStepHarness.gaussian(r, n, s);
    }

    private long up(float[] a) {
        long p = d.allocate(4L * Math.max(1, a.length));
        d.upload(p, a);
        return p;
    }

    private long up(int[] a) {
        long p = d.allocate(4L * Math.max(1, a.length));
        d.upload(p, a);
        return p;
    }

    private float[] down(long p, int n) {
        d.synchronize();
        float[] a = new float[n];
        d.download(a, p);
        return a;
    }

    @Test
    void embedGathersTheTokensRows() {
        int vocab = 50;
        int dim = 300;
        float[] emb = gaussian(vocab * dim, 1f);
        int[] tokens = {3, 0, 49, 3, 17};
        long h = d.allocate(4L * tokens.length * dim);
        ops.embed(up(emb), up(tokens), h, tokens.length, dim);
        float[] got = down(h, tokens.length * dim);
        float[] want = new float[got.length];
        for (int i = 0; i < tokens.length; i++) {
            System.arraycopy(emb, tokens[i] * dim, want, i * dim, dim);
        }
        assertThat(got).containsExactly(want);
    }

    private short[] downBf16(long p, int n) {
        d.synchronize();
        short[] a = new short[n];
        try (ShortPointer sp = new ShortPointer((long) n)) {
            d.download(sp, p, 2L * n);
            sp.get(a, 0, n);
        }
        return a;
    }

    /** The bf16 copy a kernel wrote holds exactly its fp32 results rounded to nearest. */
    private static void assertRoundedCopy(String what, short[] copy, float[] values) {
        for (int i = 0; i < values.length; i++) {
            assertThat(copy[i]).as("%s: bf16 copy of element %d (%s)", what, i, values[i])
                    .isEqualTo(HalfFloats.floatToBf16(values[i]));
        }
    }

    @Test
    void addRmsNormMatchesNormsRmsNormAfterTheResidualAddAndWritesItRoundedToBf16Too() {
        int rows = 7;
        int dim = 2048 + 13;
        float[] h = gaussian(rows * dim, 2f);
        float[] y = gaussian(rows * dim, 1f);
        float[] w = gaussian(dim, 1f);
        long dh = up(h);
        long out = d.allocate(4L * rows * dim);
        long outBf16 = d.allocate(2L * rows * dim);
        ops.addRmsNorm(dh, up(y), up(w), out, outBf16, rows, dim, 1e-6f);
        float[] sum = new float[h.length];
        float[] want = new float[h.length];
        for (int i = 0; i < sum.length; i++) {
            sum[i] = h[i] + y[i];
        }
        for (int i = 0; i < rows; i++) {
            Norms.rmsNorm(math, sum, i * dim, dim, w, 1e-6f, want, i * dim);
        }
        assertClose("h + y", down(dh, h.length), sum, 0);
        float[] got = down(out, h.length);
        assertClose("rmsNorm(h + y) * w", got, want, TOL);
        assertRoundedCopy("rmsNorm(h + y) * w", downBf16(outBf16, h.length), got);
        // without a residual: the norm of h alone (and no bf16 copy)
        long dh2 = up(h);
        ops.addRmsNorm(dh2, 0, up(w), out, 0, rows, dim, 1e-6f);
        for (int i = 0; i < rows; i++) {
            Norms.rmsNorm(math, h, i * dim, dim, w, 1e-6f, want, i * dim);
        }
        assertClose("rmsNorm(h) * w", down(out, h.length), want, TOL);
    }

    @Test
    void shortConvContinuesEachStreamsCacheLikeTheCpuConvolution() {
        int dim = 200;
        int width = 4;
        int[] lengths = {1, 5, 0, 19}; // 19: two whole batches of rows a thread loads at once and a part
        int[] slots = {2, 0, 3, 1};
        int[] offsets = CudaStepHarness.offsetsOf(lengths);
        int rows = offsets[lengths.length];
        float[] x = gaussian(rows * dim, 1f);
        float[] w = gaussian(dim * width, 0.5f);
        float[] cache = gaussian(4 * (width - 1) * dim, 1f);
        long dx = up(x);
        long dc = up(cache);
        ops.shortConv(dx, up(w), dc, up(slots), up(offsets), lengths.length, dim);
        float[] want = x.clone();
        float[] wantCache = cache.clone();
        int per = (width - 1) * dim;
        for (int n = 0; n < lengths.length; n++) {
            float[] c = java.util.Arrays.copyOfRange(wantCache, slots[n] * per, (slots[n] + 1) * per);
            ShortConvolution.applyInPlace(want, offsets[n], lengths[n], dim, w, width, c);
            System.arraycopy(c, 0, wantCache, slots[n] * per, per);
        }
        assertClose("conv + silu", down(dx, x.length), want, TOL);
        assertClose("caches", down(dc, cache.length), wantCache, 0);
    }

    @Test
    void siluAndSwigluMatchTheActivationsAndSwigluCanWriteItsRoundedOperandInstead() {
        int n = 10_007;
        float[] x = gaussian(n, 4f);
        float[] up = gaussian(n, 1f);
        long dx = up(x);
        ops.silu(dx, n);
        float[] want = x.clone();
        Activations.siluInPlace(want, 0, n);
        assertClose("silu", down(dx, n), want, TOL);
        long dg = up(x);
        long dup = up(up);
        ops.swiglu(dg, dup, 0, n);
        for (int i = 0; i < n; i++) {
            want[i] = Activations.silu(x[i]) * up[i];
        }
        float[] got = down(dg, n);
        assertClose("swiglu", got, want, TOL);
        // into a bf16 copy instead: the same values rounded, gate left as it was
        long dg2 = up(x);
        long copy = d.allocate(2L * n);
        ops.swiglu(dg2, dup, copy, n);
        assertRoundedCopy("swiglu", downBf16(copy, n), got);
        assertThat(down(dg2, n)).containsExactly(x);
    }

    @Test
    void swigluOfBf16InputsIsTheFp32SwigluOfTheirValuesRoundedOnce() {
        int n = 10_007;
        short[] g = new short[n];
        short[] u = new short[n];
        float[] gf = new float[n];
        float[] uf = new float[n];
        float[] x = gaussian(2 * n, 4f);
        for (int i = 0; i < n; i++) {
            g[i] = HalfFloats.floatToBf16(x[i]);
            u[i] = HalfFloats.floatToBf16(x[n + i]);
            gf[i] = HalfFloats.bf16ToFloat(g[i]);
            uf[i] = HalfFloats.bf16ToFloat(u[i]);
        }
        long dg = d.allocate(2L * n);
        long du = d.allocate(2L * n);
        d.upload(dg, g);
        d.upload(du, u);
        long out = d.allocate(2L * n);
        ops.swigluBf16(dg, du, out, n);
        long want = d.allocate(2L * n);
        ops.swiglu(up(gf), up(uf), want, n);
        assertThat(downBf16(out, n)).containsExactly(downBf16(want, n));
        // and that is silu(g) * u to within one bf16 rounding
        float[] got = new float[n];
        float[] cpu = new float[n];
        short[] bits = downBf16(out, n);
        for (int i = 0; i < n; i++) {
            got[i] = HalfFloats.bf16ToFloat(bits[i]);
            cpu[i] = Activations.silu(gf[i]) * uf[i];
        }
        assertClose("swiglu of bf16 inputs", got, cpu, 1e-2);
    }

    @Test
    void l2NormHeadsNormalisesEveryHeadOfQAndK() {
        int heads = 9;
        int dim = 96;
        float[] q = gaussian(heads * dim, 3f);
        float[] k = gaussian(heads * dim, 0.1f);
        long dq = up(q);
        long dk = up(k);
        ops.l2NormHeads(dq, dk, heads, dim);
        for (int h = 0; h < heads; h++) {
            Norms.l2NormInPlace(math, q, h * dim, dim);
            Norms.l2NormInPlace(math, k, h * dim, dim);
        }
        assertClose("q", down(dq, q.length), q, TOL);
        assertClose("k", down(dk, k.length), k, TOL);
    }

    @Test
    void gatesMatchTheMixersSigmoidAndSoftplus() {
        int rows = 33;
        int hv = 6;
        float[] a = gaussian(rows * hv, 10f); // beyond the softplus switch at 20 too
        float[] b = gaussian(rows * hv, 3f);
        float[] negA = gaussian(hv, 1f);
        float[] dtBias = gaussian(hv, 1f);
        long g = d.allocate(4L * rows * hv);
        long beta = d.allocate(4L * rows * hv);
        ops.gates(up(a), up(b), up(negA), up(dtBias), g, beta, rows, hv, 2f);
        float[] wantG = new float[rows * hv];
        float[] wantB = new float[rows * hv];
        for (int i = 0; i < wantG.length; i++) {
            wantB[i] = 2f * Activations.sigmoid(b[i]);
            wantG[i] = negA[i % hv] * Activations.softplus(a[i] + dtBias[i % hv]);
        }
        assertClose("g", down(g, wantG.length), wantG, TOL);
        assertClose("beta", down(beta, wantB.length), wantB, TOL);
    }

    @Test
    void gatedRmsNormMatchesNormsWithAndWithoutAGateAndCanWriteItsRoundedOperandInstead() {
        int heads = 13; // not a whole number of blocks (four heads a block)
        int dim = 512;
        float[] o = gaussian(heads * dim, 1f);
        float[] gate = gaussian(heads * dim, 2f);
        float[] w = gaussian(dim, 1f);
        long dw = up(w);
        long dgate = up(gate);
        long gated = up(o);
        ops.gatedRmsNorm(gated, dgate, dw, 0, heads, dim, 1e-5f);
        long plain = up(o);
        ops.gatedRmsNorm(plain, 0, dw, 0, heads, dim, 1e-5f);
        // into a bf16 copy instead: o left as it was
        long unchanged = up(o);
        long copy = d.allocate(2L * heads * dim);
        ops.gatedRmsNorm(unchanged, dgate, dw, copy, heads, dim, 1e-5f);
        float[] wantGated = o.clone();
        float[] wantPlain = o.clone();
        for (int h = 0; h < heads; h++) {
            Norms.gatedRmsNormInPlace(math, wantGated, h * dim, dim, w, 1e-5f, gate, h * dim);
            Norms.gatedRmsNormInPlace(math, wantPlain, h * dim, dim, w, 1e-5f, null, 0);
        }
        float[] got = down(gated, o.length);
        assertClose("gated", got, wantGated, TOL);
        assertClose("no gate", down(plain, o.length), wantPlain, TOL);
        assertRoundedCopy("gated", downBf16(copy, o.length), got);
        assertThat(down(unchanged, o.length)).containsExactly(o);
    }

    @Test
    void addBiasAddsTheColumnsBias() {
        int rows = 5;
        int cols = 300;
        float[] y = gaussian(rows * cols, 1f);
        float[] bias = gaussian(cols, 1f);
        long dy = up(y);
        ops.addBias(dy, up(bias), rows, cols);
        for (int i = 0; i < y.length; i++) {
            y[i] += bias[i % cols];
        }
        assertClose("y + bias", down(dy, y.length), y, 0);
    }

    @Test
    void bf16RoundingMatchesHalfFloatsAndTheSplitCarriesTheRest() {
        int n = 4099;
        float[] x = gaussian(n, 5f);
        long dx = up(x);
        long single = d.allocate(2L * n);
        long split = d.allocate(4L * n);
        ops.toBf16(dx, single, n);
        ops.toBf16Split(dx, split, n);
        d.synchronize();
        short[] one = new short[n];
        short[] two = new short[2 * n];
        try (ShortPointer p = new ShortPointer(2L * n)) {
            d.download(p, single, 2L * n);
            p.get(one, 0, n);
            d.download(p, split, 4L * n);
            p.get(two, 0, 2 * n);
        }
        for (int i = 0; i < n; i++) {
            short hi = HalfFloats.floatToBf16(x[i]);
            assertThat(one[i]).as("bf16(x[%d])", i).isEqualTo(hi);
            assertThat(two[i]).as("hi part of x[%d]", i).isEqualTo(hi);
            assertThat(two[n + i]).as("lo part of x[%d]", i)
                    .isEqualTo(HalfFloats.floatToBf16(x[i] - HalfFloats.bf16ToFloat(hi)));
        }
        // the halves of a split product add back up
        float[] parts = gaussian(2 * n, 1f);
        long y = d.allocate(4L * n);
        ops.addHalves(up(parts), y, n);
        float[] want = new float[n];
        for (int i = 0; i < n; i++) {
            want[i] = parts[i] + parts[n + i];
        }
        assertClose("parts added", down(y, n), want, 0);
    }
}
