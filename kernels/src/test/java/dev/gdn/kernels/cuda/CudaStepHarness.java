package dev.gdn.kernels.cuda;

import dev.gdn.kernels.deltarule.DeltaRuleInputs;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.deltarule.RecurrentGatedDeltaRule;
import java.util.Random;

/** Random inputs for N streams of given run lengths, run on the GPU and by the reference loop. */
final class CudaStepHarness {
    final DeltaRuleShape shape;
    final int streams;
    final int[] offsets;
    final int rows;
    final int poolSlots;
    final int[] slots;
    final float[] q;
    final float[] k;
    final float[] v;
    final float[] g;
    final float[] beta;
    final float[] pool;
    final float scale;

    /** One token per stream: the decode step. */
    CudaStepHarness(DeltaRuleShape shape, int streams, long seed) {
        this(shape, ones(streams), seed);
    }

    static int[] ones(int n) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, 1);
        return a;
    }

    CudaStepHarness(DeltaRuleShape shape, int[] lengths, long seed) {
        this.shape = shape;
        this.streams = lengths.length;
        this.offsets = offsetsOf(lengths);
        this.rows = offsets[streams];
        this.poolSlots = streams + 2;
        Random r = new Random(seed);
        slots = permutedSlots(r, streams, poolSlots);
        q = unitRows(r, rows * shape.heads(), shape.keyDim());
        k = unitRows(r, rows * shape.heads(), shape.keyDim());
        v = gaussian(r, rows * shape.vRowSize(), 1f);
        g = new float[rows * shape.valueHeads()];
        beta = new float[g.length];
        for (int i = 0; i < g.length; i++) {
            g[i] = r.nextInt(8) == 0 ? -20f * r.nextFloat() : -0.2f * r.nextFloat();
            beta[i] = r.nextFloat();
        }
        pool = gaussian(r, poolSlots * shape.stateSize(), 0.3f);
        scale = (float) (1 / Math.sqrt(shape.keyDim()));
    }

    /** The reference: returns {out [N, HV, V], pool after}. */
    float[][] reference() {
        float[] p = pool.clone();
        float[] out = new float[rows * shape.vRowSize()];
        RecurrentGatedDeltaRule rule = new RecurrentGatedDeltaRule();
        for (int n = 0; n < streams; n++) {
            DeltaRuleInputs in = new DeltaRuleInputs(shape, offsets[n], offsets[n + 1] - offsets[n], q, k, v, g, beta,
                    scale);
            rule.forward(in, p, slots[n] * shape.stateSize(), out);
        }
        return new float[][] {out, p};
    }

    /** The GPU: returns {out, pool after}. */
    float[][] gpu(CudaDevice d, CudaRecurrentGatedDeltaRule step) {
        return gpu(d, step, false);
    }

    /** As {@link #gpu(CudaDevice, CudaRecurrentGatedDeltaRule)}, through the decode kernel when {@code decode}. */
    float[][] gpu(CudaDevice d, CudaRecurrentGatedDeltaRule step, boolean decode) {
        return gpu(d, launcher(step, decode), false);
    }

    /** The decode kernel over every stream when {@code decode} (one token each), else the run kernel. */
    private java.util.function.Consumer<DeltaRuleArrays> launcher(CudaRecurrentGatedDeltaRule step, boolean decode) {
        if (decode && rows != streams) {
            throw new IllegalStateException("the decode kernel takes exactly one token per stream");
        }
        return a -> {
            if (decode) {
                step.step(a, streams, scale);
            } else {
                step.run(a, streams, scale);
            }
        };
    }

    /** Through the chunkwise kernel (every stream, whatever its length). */
    float[][] gpuChunked(CudaDevice d, CudaChunkedGatedDeltaRule chunk) {
        return gpu(d, a -> chunk.run(a, streams, rows, longestRun(), scale, 1), false);
    }

    int longestRun() {
        int m = 0;
        for (int n = 0; n < streams; n++) {
            m = Math.max(m, offsets[n + 1] - offsets[n]);
        }
        return m;
    }

    /** Rounds the starting pool to bf16 values, so that a bf16 pool starts from the reference's state. */
    void roundPool() {
        for (int i = 0; i < pool.length; i++) {
            pool[i] = dev.gdn.kernels.io.HalfFloats.bf16ToFloat(dev.gdn.kernels.io.HalfFloats.floatToBf16(pool[i]));
        }
    }

    /** The pool held in bf16 on the device: the decode kernel when {@code decode}, else the run kernel. */
    float[][] gpuBf16(CudaDevice d, CudaRecurrentGatedDeltaRule step, boolean decode) {
        return gpu(d, launcher(step, decode), true);
    }

    /** The pool held in bf16 on the device, through the chunkwise kernel. */
    float[][] gpuChunkedBf16(CudaDevice d, CudaChunkedGatedDeltaRule chunk) {
        return gpu(d, a -> chunk.run(a, streams, rows, longestRun(), scale, 1), true);
    }

    /** Uploads the inputs (the pool in bf16 when asked), runs {@code launch} on them, downloads {out, pool}. */
    private float[][] gpu(CudaDevice d, java.util.function.Consumer<DeltaRuleArrays> launch, boolean bf16) {
        long dq = d.allocate(4L * q.length);
        long dk = d.allocate(4L * k.length);
        long dv = d.allocate(4L * v.length);
        long dg = d.allocate(4L * g.length);
        long db = d.allocate(4L * beta.length);
        long ds = d.allocate(4L * slots.length);
        long doff = d.allocate(4L * offsets.length);
        long dp = d.allocate((bf16 ? 2L : 4L) * pool.length);
        long dout = d.allocate(4L * Math.max(1, rows) * shape.vRowSize());
        d.upload(doff, offsets);
        d.upload(dq, q);
        d.upload(dk, k);
        d.upload(dv, v);
        d.upload(dg, g);
        d.upload(db, beta);
        d.upload(ds, slots);
        short[] halves = new short[bf16 ? pool.length : 0];
        for (int i = 0; i < halves.length; i++) {
            halves[i] = dev.gdn.kernels.io.HalfFloats.floatToBf16(pool[i]);
        }
        if (bf16) {
            d.upload(dp, halves);
        } else {
            d.upload(dp, pool);
        }
        launch.accept(new DeltaRuleArrays(dq, dk, dv, dg, db, doff, ds, dp, dout));
        d.synchronize();
        float[] out = new float[rows * shape.vRowSize()];
        float[] p = new float[pool.length];
        d.download(out, dout);
        if (bf16) {
            try (org.bytedeco.javacpp.ShortPointer h = new org.bytedeco.javacpp.ShortPointer(pool.length)) {
                d.download(h, dp, 2L * pool.length);
                h.get(halves);
            }
            for (int i = 0; i < p.length; i++) {
                p[i] = dev.gdn.kernels.io.HalfFloats.bf16ToFloat(halves[i]);
            }
        } else {
            d.download(p, dp);
        }
        for (long a : new long[] {dq, dk, dv, dg, db, ds, doff, dp, dout}) {
            d.free(a);
        }
        return new float[][] {out, p};
    }

    /**
     * Only the chunk kernel's preparation stage over every stream; returns its intermediates as floats,
     * rows laid out like the inputs: {-W, Qg, Kt [rows, HV, K]; U [rows, HV, V]; M [rows, HV, 64]; e^gam
     * [rows, HV]}.
     */
    float[][] gpuPrepared(CudaDevice d, CudaChunkedGatedDeltaRule chunk) {
        gpu(d, a -> chunk.run(a, streams, rows, longestRun(), scale, 1, true, false), false);
        CudaChunkedGatedDeltaRule.Prepared p = chunk.prepared();
        int hv = shape.valueHeads();
        int e = chunk.operandBytes();
        return new float[][] {operands(d, p.w(), rows * hv * shape.keyDim(), e),
            operands(d, p.qg(), rows * hv * shape.keyDim(), e), operands(d, p.kt(), rows * hv * shape.keyDim(), e),
            operands(d, p.u(), rows * hv * shape.valueDim(), e), operands(d, p.m(), rows * hv * 64, e),
            operands(d, p.decay(), rows * hv, 4)};
    }

    private static float[] operands(CudaDevice d, long src, int n, int bytes) {
        float[] out = new float[n];
        if (bytes == 4) {
            d.download(out, src);
            return out;
        }
        short[] halves = new short[n];
        try (org.bytedeco.javacpp.ShortPointer h = new org.bytedeco.javacpp.ShortPointer(n)) {
            d.download(h, src, 2L * n);
            h.get(halves);
        }
        for (int i = 0; i < n; i++) {
            out[i] = dev.gdn.kernels.io.HalfFloats.bf16ToFloat(halves[i]);
        }
        return out;
    }

    /** Row offsets {@code [N + 1]} of streams with these run lengths (stream i's rows: [offsets[i], offsets[i + 1])). */
    static int[] offsetsOf(int[] lengths) {
        int[] offsets = new int[lengths.length + 1];
        for (int i = 0; i < lengths.length; i++) {
            offsets[i + 1] = offsets[i] + lengths[i];
        }
        return offsets;
    }

    /** {@code streams} distinct slots of a pool of {@code poolSlots}, in a random order. */
    static int[] permutedSlots(Random r, int streams, int poolSlots) {
        java.util.List<Integer> perm = new java.util.ArrayList<>();
        for (int i = 0; i < poolSlots; i++) {
            perm.add(i);
        }
        java.util.Collections.shuffle(perm, r);
        int[] slots = new int[streams];
        for (int i = 0; i < streams; i++) {
            slots[i] = perm.get(i);
        }
        return slots;
    }

    static float[] gaussian(Random r, int n, float s) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian() * s;
        }
        return a;
    }

    static float[] unitRows(Random r, int rows, int width) {
        float[] a = gaussian(r, rows * width, 1f);
        for (int i = 0; i < rows; i++) {
            double ss = 0;
            for (int j = 0; j < width; j++) {
                ss += a[i * width + j] * a[i * width + j];
            }
            for (int j = 0; j < width; j++) {
                a[i * width + j] /= (float) Math.sqrt(ss);
            }
        }
        return a;
    }
}
