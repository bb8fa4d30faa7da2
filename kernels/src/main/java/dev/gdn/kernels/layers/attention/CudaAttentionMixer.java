package dev.gdn.kernels.layers.attention;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.CudaDevice;
import dev.gdn.kernels.cuda.CudaMemoryPool;
import dev.gdn.kernels.cuda.CudaModelOps;
import dev.gdn.kernels.cuda.CudaPass;
import dev.gdn.kernels.cuda.CudaProducts;
import dev.gdn.kernels.cuda.CudaTokenMixer;
import dev.gdn.kernels.cuda.DeviceMatrix;
import dev.gdn.kernels.cuda.DeviceScratch;

/**
 * Sliding-window attention on the GPU: q, k, v projections (and biases), rotary embedding and softmax
 * over each stream's ring of the last {@code window} keys and values plus the run's own rows, the ring
 * append, and the output projection. Pool parts: keys, values (rings), with each slot's position on the
 * host.
 */
final class CudaAttentionMixer implements CudaTokenMixer {
    private final DeviceMatrix q;
    private final DeviceMatrix k;
    private final DeviceMatrix v;
    private final DeviceMatrix o;
    private final long qBias;
    private final long kBias;
    private final long vBias;
    private final long invFreq;
    private final AttentionConfig cfg;

    CudaAttentionMixer(CudaDevice device, CudaProducts products, ModelConfig c, AttentionWeights w) {
        this.cfg = AttentionConfig.of(c).orElseThrow();
        int d = c.hiddenSize();
        int qRow = cfg.numHeads() * cfg.headDim();
        int kvRow = cfg.numKvHeads() * cfg.headDim();
        double[] inv = new double[cfg.headDim() / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = Math.pow(cfg.ropeTheta(), -2.0 * i / cfg.headDim());
        }
        this.invFreq = device.allocate(8L * inv.length);
        device.upload(invFreq, inv);
        this.q = products.matrix(w.qProj(), qRow, d);
        this.k = products.matrix(w.kProj(), kvRow, d);
        this.v = products.matrix(w.vProj(), kvRow, d);
        this.o = products.matrix(w.oProj(), d, qRow);
        this.qBias = device.floats(w.qBias());
        this.kBias = device.floats(w.kBias());
        this.vBias = device.floats(w.vBias());
    }

    @Override
    public int ringWindow() {
        return cfg.windowSize();
    }

    @Override
    public void mix(CudaPass p, int layer, long x, long y) {
        DeviceScratch scratch = p.scratch();
        CudaModelOps ops = p.ops();
        CudaProducts mm = p.products();
        CudaMemoryPool pool = p.pool();
        int rows = p.rows();
        int n = p.streams();
        int qRow = cfg.numHeads() * cfg.headDim();
        int kvRow = cfg.numKvHeads() * cfg.headDim();
        long dq = scratch.get("aq", 4L * rows * qRow);
        long dk = scratch.get("ak", 4L * rows * kvRow);
        long dv = scratch.get("av", 4L * rows * kvRow);
        long dout = scratch.get("ao", 4L * rows * qRow);
        mm.prepare(x, rows, p.config().hiddenSize());
        mm.linear(x, rows, q, dq);
        mm.linear(x, rows, k, dk);
        mm.linear(x, rows, v, dv);
        if (qBias != 0) {
            ops.addBias(dq, qBias, rows, qRow);
            ops.addBias(dk, kBias, rows, kvRow);
            ops.addBias(dv, vBias, rows, kvRow);
        }
        // positions: [3, N] ints (ring entries in view, oldest slot, next slot)
        long positions = p.positions()[layer];
        ops.windowAttention(dq, dk, dv, pool.part(layer, 0), pool.part(layer, 1), p.slots(), p.offsets(), positions,
                positions + 4L * n, invFreq, dout, n, cfg.numHeads(), cfg.numKvHeads(), cfg.headDim(),
                cfg.windowSize(), (float) (1.0 / Math.sqrt(cfg.headDim())));
        ops.ringAppend(dk, dv, pool.part(layer, 0), pool.part(layer, 1), p.slots(), p.offsets(), positions + 8L * n, n,
                cfg.windowSize(), kvRow);
        mm.prepare(dout, rows, qRow);
        mm.linear(dout, rows, o, y);
    }
}
