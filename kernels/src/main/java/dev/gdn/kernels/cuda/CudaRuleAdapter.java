package dev.gdn.kernels.cuda;

import dev.gdn.kernels.deltarule.DeltaRuleInputs;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.deltarule.GatedDeltaRule;
import java.util.Arrays;

/**
 * A CUDA form (recurrent or chunkwise) behind the host-array {@link GatedDeltaRule} interface, for
 * parity checks: each call uploads one sequence and its state, runs the kernel and downloads the
 * results. Not a fast path (the model keeps states on the device); a way to hold the GPU kernels to the
 * same fixtures.
 */
public final class CudaRuleAdapter implements GatedDeltaRule {
    private final CudaDevice device;
    private final ChunkPrecision chunked;

    /** The recurrent form. */
    public CudaRuleAdapter(CudaDevice device) {
        this(device, null);
    }

    /**
     * The chunkwise form of {@code precision} (see {@link CudaChunkedGatedDeltaRule#supports}), the
     * recurrent one when it is null.
     */
    public CudaRuleAdapter(CudaDevice device, ChunkPrecision precision) {
        this.device = device;
        this.chunked = precision;
    }

    @Override
    public void forward(DeltaRuleInputs in, float[] state, int stateOffset, float[] out) {
        DeltaRuleShape s = in.shape();
        int t = in.tokens();
        if (t == 0) {
            return;
        }
        int r0 = in.firstRow();
        float[] q = Arrays.copyOfRange(in.q(), r0 * s.qkRowSize(), (r0 + t) * s.qkRowSize());
        float[] k = Arrays.copyOfRange(in.k(), r0 * s.qkRowSize(), (r0 + t) * s.qkRowSize());
        float[] v = Arrays.copyOfRange(in.v(), r0 * s.vRowSize(), (r0 + t) * s.vRowSize());
        float[] g = Arrays.copyOfRange(in.g(), r0 * s.valueHeads(), (r0 + t) * s.valueHeads());
        float[] b = Arrays.copyOfRange(in.beta(), r0 * s.valueHeads(), (r0 + t) * s.valueHeads());
        float[] st = Arrays.copyOfRange(state, stateOffset, stateOffset + s.stateSize());
        long dq = upload(q);
        long dk = upload(k);
        long dv = upload(v);
        long dg = upload(g);
        long db = upload(b);
        long dOff = device.allocate(8);
        device.upload(dOff, new int[] {0, t});
        long dSlot = device.allocate(4);
        device.upload(dSlot, new int[] {0});
        long dp = upload(st);
        long dout = device.allocate(4L * t * s.vRowSize());
        DeltaRuleArrays arrays = new DeltaRuleArrays(dq, dk, dv, dg, db, dOff, dSlot, dp, dout);
        if (chunked != null) {
            try (CudaChunkedGatedDeltaRule rule = new CudaChunkedGatedDeltaRule(device, s, chunked)) {
                rule.run(arrays, 1, t, t, in.scale(), 1);
                device.synchronize();
            }
        } else {
            new CudaRecurrentGatedDeltaRule(device, s).run(arrays, 1, in.scale());
        }
        device.synchronize();
        float[] o = new float[t * s.vRowSize()];
        device.download(o, dout);
        device.download(st, dp);
        for (long a : new long[] {dq, dk, dv, dg, db, dOff, dSlot, dp, dout}) {
            device.free(a);
        }
        System.arraycopy(o, 0, out, r0 * s.vRowSize(), o.length);
        System.arraycopy(st, 0, state, stateOffset, st.length);
    }

    @Override
    public void forwardHead(DeltaRuleInputs in, int valueHead, float[] state, int stateOffset, float[] out) {
        throw new UnsupportedOperationException("the CUDA form runs whole sequences: call forward()");
    }

    private long upload(float[] a) {
        long p = device.allocate(4L * Math.max(1, a.length));
        device.upload(p, a);
        return p;
    }
}
