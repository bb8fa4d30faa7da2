package dev.gdn.kernels.layers.gdn;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.CudaChunkedGatedDeltaRule;
import dev.gdn.kernels.cuda.CudaDevice;
import dev.gdn.kernels.cuda.CudaForward;
import dev.gdn.kernels.cuda.CudaMemoryPool;
import dev.gdn.kernels.cuda.CudaModelOps;
import dev.gdn.kernels.cuda.CudaPass;
import dev.gdn.kernels.cuda.CudaProducts;
import dev.gdn.kernels.cuda.CudaRecurrentGatedDeltaRule;
import dev.gdn.kernels.cuda.CudaTokenMixer;
import dev.gdn.kernels.cuda.DeltaRuleArrays;
import dev.gdn.kernels.cuda.DeviceMatrix;
import dev.gdn.kernels.cuda.DeviceScratch;

/**
 * The Gated DeltaNet mixer on the GPU: q, k, v, a, b (and g) projections, short convolutions over the
 * pool's caches, q/k L2 norms, gates, the gated delta rule (the decode step for one-token batches; else
 * per stream the recurrent kernel below {@link CudaForward#CHUNK_FROM} tokens and the chunkwise one from
 * there), the gated RMSNorm and the output projection. Pool parts: state, convQ, convK, convV.
 */
final class CudaDeltaNetMixer implements CudaTokenMixer {
    private final DeviceMatrix q;
    private final DeviceMatrix k;
    private final DeviceMatrix v;
    private final DeviceMatrix a;
    private final DeviceMatrix b;
    private final DeviceMatrix g;
    private final long negA;
    private final long dtBias;
    private final long qConv;
    private final long kConv;
    private final long vConv;
    private final long oNorm;
    private final DeviceMatrix o;
    private final CudaRecurrentGatedDeltaRule rule;
    private final CudaChunkedGatedDeltaRule chunk;

    /**
     * Uploads the layer's weights.
     *
     * @param chunk the chunkwise kernel, or null where the heads' shape has none (the recurrent one runs)
     */
    CudaDeltaNetMixer(CudaDevice device, CudaProducts products, ModelConfig c, DeltaNetWeights w,
            CudaRecurrentGatedDeltaRule rule, CudaChunkedGatedDeltaRule chunk) {
        int d = c.hiddenSize();
        float[] minusA = new float[c.numValueHeads()];
        for (int j = 0; j < minusA.length; j++) {
            minusA[j] = (float) -Math.exp(w.aLog()[j]);
        }
        this.q = products.matrix(w.qProj(), c.keyDim(), d);
        this.k = products.matrix(w.kProj(), c.keyDim(), d);
        this.v = products.matrix(w.vProj(), c.valueDim(), d);
        this.a = products.matrix(w.aProj(), c.numValueHeads(), d);
        this.b = products.matrix(w.bProj(), c.numValueHeads(), d);
        this.g = w.gProj() == null ? null : products.matrix(w.gProj(), c.valueDim(), d);
        this.negA = device.floats(minusA);
        this.dtBias = device.floats(w.dtBias());
        this.qConv = device.floats(w.qConv());
        this.kConv = device.floats(w.kConv());
        this.vConv = device.floats(w.vConv());
        this.oNorm = device.floats(w.oNorm());
        this.o = products.matrix(w.oProj(), d, c.valueDim());
        this.rule = rule;
        this.chunk = chunk;
    }

    @Override
    public void mix(CudaPass p, int layer, long x, long y) {
        ModelConfig c = p.config();
        DeviceScratch scratch = p.scratch();
        CudaModelOps ops = p.ops();
        CudaProducts mm = p.products();
        int rows = p.rows();
        int n = p.streams();
        int kDim = c.keyDim();
        int vDim = c.valueDim();
        int hv = c.numValueHeads();
        long dq = scratch.get("q", 4L * rows * kDim);
        long dk = scratch.get("k", 4L * rows * kDim);
        long dv = scratch.get("v", 4L * rows * vDim);
        long da = scratch.get("a", 4L * rows * hv);
        long db = scratch.get("b", 4L * rows * hv);
        long dg = scratch.get("g", 4L * rows * hv);
        long beta = scratch.get("beta", 4L * rows * hv);
        long dout = scratch.get("o", 4L * rows * vDim);
        long gate = g == null ? 0 : scratch.get("gate", 4L * rows * vDim);
        mm.prepare(x, rows, c.hiddenSize());
        mm.linear(x, rows, q, dq);
        mm.linear(x, rows, k, dk);
        mm.linear(x, rows, v, dv);
        mm.linear(x, rows, a, da);
        mm.linear(x, rows, b, db);
        if (gate != 0) {
            mm.linear(x, rows, g, gate);
        }
        CudaMemoryPool pool = p.pool();
        CudaQkvConvolution.apply(p, layer, dq, dk, dv, qConv, kConv, vConv);
        ops.gates(da, db, negA, dtBias, dg, beta, rows, hv, c.allowNegEigval() ? 2f : 1f);
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        DeltaRuleArrays arrays = new DeltaRuleArrays(dq, dk, dv, dg, beta, p.offsets(), p.slots(), pool.part(layer, 0),
                dout);
        if (p.oneTokenEach()) {
            rule.step(arrays, n, scale);
        } else if (chunk != null && p.longestRun() >= CudaForward.CHUNK_FROM) {
            // each stream takes the form its own run length calls for: the result never depends on the batch
            rule.run(arrays, n, scale, CudaForward.CHUNK_FROM - 1);
            chunk.run(arrays, n, rows, p.longestRun(), scale, CudaForward.CHUNK_FROM);
        } else {
            rule.run(arrays, n, scale);
        }
        ops.gatedRmsNorm(dout, gate, oNorm, mm.bf16Output(dout, rows, vDim), rows * hv, c.headValueDim(),
                c.normEps());
        mm.prepare(dout, rows, vDim);
        mm.linear(dout, rows, o, y);
    }
}
