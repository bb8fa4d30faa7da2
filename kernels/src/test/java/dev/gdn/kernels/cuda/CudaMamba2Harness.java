package dev.gdn.kernels.cuda;

import dev.gdn.kernels.layers.mamba2.CudaMamba2Mixer;
import dev.gdn.kernels.layers.mamba2.Mamba2Config;
import dev.gdn.kernels.ops.Activations;
import dev.gdn.kernels.ssm.Mamba2Scan;
import java.util.Random;

/**
 * Random inputs of the Mamba2 selective scan for streams of given run lengths in scattered pool slots,
 * run by the CPU's exact recurrence ({@link Mamba2Scan#recurrent}) and by the CUDA kernels: the scan's
 * per-kernel parity (tests) and its timing (benchmark). Decays span gentle to hard (dt A from about
 * -0.001 to -30) and the states start non-zero.
 */
final class CudaMamba2Harness {
    final Mamba2Config cfg;
    final int streams;
    final int[] offsets;
    final int rows;
    final int poolSlots;
    final int[] slots;
    /** {@code [rows, C]}. */
    final float[] xbc;
    /** {@code [rows, proj]}: only the dt columns are read by the scan. */
    final float[] zxbcdt;
    final float[] dtBias;
    final float[] negA;
    final float[] d;
    /** {@code [poolSlots, H, P, N]}. */
    final float[] pool;

    CudaMamba2Harness(Mamba2Config cfg, int[] lengths, long seed) {
        this.cfg = cfg;
        this.streams = lengths.length;
        this.offsets = CudaStepHarness.offsetsOf(lengths);
        this.rows = offsets[streams];
        this.poolSlots = streams + 2;
        Random r = new Random(seed);
        slots = CudaStepHarness.permutedSlots(r, streams, poolSlots);
        int heads = cfg.numHeads();
        java.util.SplittableRandom fast = new java.util.SplittableRandom(seed);
        xbc = uniform(fast, rows * cfg.convDim(), 1.2f);
        zxbcdt = uniform(fast, rows * cfg.inProjRows(), 2.5f);
        dtBias = new float[heads];
        negA = new float[heads];
        d = new float[heads];
        for (int h = 0; h < heads; h++) {
            dtBias[h] = (float) Math.log(Math.expm1(0.001 + 0.2 * r.nextDouble()));
            negA[h] = (float) -Math.exp(r.nextDouble() * 3);
            d[h] = r.nextFloat();
        }
        pool = uniform(fast, Math.multiplyExact(poolSlots, cfg.stateFloats()), 0.5f);
    }

    /** {@code n} values uniform in {@code [-s, s]} (cheap enough for the benchmark's gigabyte pools). */
    private static float[] uniform(java.util.SplittableRandom r, int n, float s) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((2 * r.nextDouble() - 1) * s);
        }
        return a;
    }

    private CudaMamba2Harness(CudaMamba2Harness from, int stream) {
        this.cfg = from.cfg;
        this.streams = 1;
        int r0 = from.offsets[stream];
        int len = from.offsets[stream + 1] - r0;
        this.offsets = new int[] {0, len};
        this.rows = len;
        this.poolSlots = 1;
        this.slots = new int[] {0};
        this.xbc = java.util.Arrays.copyOfRange(from.xbc, r0 * cfg.convDim(), (r0 + len) * cfg.convDim());
        this.zxbcdt = java.util.Arrays.copyOfRange(from.zxbcdt, r0 * cfg.inProjRows(), (r0 + len) * cfg.inProjRows());
        this.dtBias = from.dtBias;
        this.negA = from.negA;
        this.d = from.d;
        int per = cfg.stateFloats();
        this.pool = java.util.Arrays.copyOfRange(from.pool, from.slots[stream] * per, (from.slots[stream] + 1) * per);
    }

    /** Stream {@code stream} of this batch alone, its state in slot 0. */
    CudaMamba2Harness only(int stream) {
        return new CudaMamba2Harness(this, stream);
    }

    /** dt after the softplus, {@code [rows, H]}. */
    float[] dt() {
        int heads = cfg.numHeads();
        int at = cfg.innerDim() + cfg.convDim();
        float[] dt = new float[rows * heads];
        for (int t = 0; t < rows; t++) {
            for (int h = 0; h < heads; h++) {
                dt[t * heads + h] = Activations.softplus(zxbcdt[t * cfg.inProjRows() + at + h] + dtBias[h]);
            }
        }
        return dt;
    }

    /** The CPU's exact recurrence: {y {@code [rows, I]}, the streams' final states {@code [S, H, P, N]}}. */
    float[][] reference() {
        Mamba2Scan scan = new Mamba2Scan(cfg.numHeads(), cfg.headDim(), cfg.stateSize(), cfg.groups());
        float[] dt = dt();
        float[] y = new float[rows * cfg.innerDim()];
        int per = cfg.stateFloats();
        float[] states = new float[streams * per];
        for (int i = 0; i < streams; i++) {
            float[] s = java.util.Arrays.copyOfRange(pool, slots[i] * per, (slots[i] + 1) * per);
            scan.recurrent(xbc, dt, negA, d, offsets[i], offsets[i + 1] - offsets[i], s, y);
            System.arraycopy(s, 0, states, i * per, per);
        }
        return new float[][] {y, states};
    }

    /**
     * The GPU's result: runs below {@code chunkFrom} tokens by the recurrence kernel, the others by the
     * chunked one ({@code chunkFrom} 0: all by the recurrence).
     */
    float[][] gpu(CudaDevice dev, CudaMamba2Mixer.Kernels k, int chunkFrom) {
        long[] all = new long[11];
        try {
            CudaMamba2Mixer.ScanArrays a = upload(dev, k, all);
            if (chunkFrom > 0) {
                k.scan(a, streams, 1, chunkFrom - 1);
                k.chunked(a, streams, chunkFrom);
            } else {
                k.scan(a, streams, 1, Integer.MAX_VALUE);
            }
            dev.synchronize();
            float[] y = new float[rows * cfg.innerDim()];
            dev.download(y, a.y());
            float[] p = new float[pool.length];
            dev.download(p, a.state());
            int per = cfg.stateFloats();
            float[] states = new float[streams * per];
            for (int i = 0; i < streams; i++) {
                System.arraycopy(p, slots[i] * per, states, i * per, per);
            }
            return new float[][] {y, states};
        } finally {
            for (long p : all) {
                if (p != 0) {
                    dev.free(p);
                }
            }
        }
    }

    /** Uploads the inputs; the device arrays are also listed in {@code owned} for freeing. */
    CudaMamba2Mixer.ScanArrays upload(CudaDevice dev, CudaMamba2Mixer.Kernels k, long[] owned) {
        owned[0] = dev.floats(xbc);
        owned[1] = dev.floats(zxbcdt);
        owned[2] = dev.floats(dtBias);
        owned[3] = dev.floats(negA);
        owned[4] = dev.floats(d);
        owned[5] = dev.floats(pool);
        owned[6] = dev.allocate(4L * streams);
        dev.upload(owned[6], slots);
        owned[7] = dev.allocate(4L * (streams + 1));
        dev.upload(owned[7], offsets);
        owned[8] = dev.allocate(4L * Math.max(1, rows) * cfg.innerDim());
        owned[9] = dev.allocate(4L * Math.max(1, rows) * cfg.numHeads());
        owned[10] = dev.allocate(4L * Math.max(1, rows) * cfg.numHeads());
        k.dt(owned[1], cfg.inProjRows(), cfg.innerDim() + cfg.convDim(), owned[2], owned[3], owned[9], owned[10], rows);
        return new CudaMamba2Mixer.ScanArrays(owned[0], owned[9], owned[10], owned[3], owned[4], owned[5], owned[6],
                owned[7], owned[8]);
    }
}
