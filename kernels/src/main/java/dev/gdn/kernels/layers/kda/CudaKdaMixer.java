package dev.gdn.kernels.layers.kda;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.CudaDevice;
import dev.gdn.kernels.cuda.CudaMemoryPool;
import dev.gdn.kernels.cuda.CudaModelOps;
import dev.gdn.kernels.cuda.CudaPass;
import dev.gdn.kernels.cuda.CudaProducts;
import dev.gdn.kernels.cuda.CudaRecurrentGatedDeltaRule;
import dev.gdn.kernels.cuda.CudaTokenMixer;
import dev.gdn.kernels.cuda.DeltaRuleArrays;
import dev.gdn.kernels.cuda.DeviceMatrix;
import dev.gdn.kernels.cuda.DeviceScratch;
import dev.gdn.kernels.layers.gdn.CudaQkvConvolution;

/**
 * The Kimi Delta Attention mixer on the GPU, the CUDA form of {@link KdaMixer}: the q, k, v, b and low-rank
 * f and output-gate projections (cuBLAS), the short convolutions over the pool's caches and the q/k head
 * norms (the engine's kernels Gated DeltaNet uses too), the per-channel decays and write strengths
 * ({@code kda_ops.cu}), the delta rule with a decay per key channel (the recurrent kernel compiled with
 * {@code KEY_DECAY}; every run length takes it: there is no chunkwise KDA kernel yet), the sigmoid-gated
 * output norm and the output projection. Pool parts as Gated DeltaNet's: state, convQ, convK, convV.
 */
final class CudaKdaMixer implements CudaTokenMixer {
    private final KdaCuda.Compiled k;
    private final DeviceMatrix q;
    private final DeviceMatrix kProj;
    private final DeviceMatrix v;
    private final DeviceMatrix fDown;
    private final DeviceMatrix fUp;
    private final DeviceMatrix b;
    private final DeviceMatrix gDown;
    private final DeviceMatrix gUp;
    private final long gBias;
    /** Per value head: -exp(A_log), or exp(A_log) under a lower bound. */
    private final long a;
    private final long dtBias;
    private final long qConv;
    private final long kConv;
    private final long vConv;
    private final long oNorm;
    private final DeviceMatrix o;
    private final float lower;

    CudaKdaMixer(CudaDevice device, CudaProducts products, ModelConfig c, KdaWeights w, KdaCuda.Compiled kernels) {
        this.k = kernels;
        KdaConfig kda = KdaConfig.of(c).orElseThrow();
        int d = c.hiddenSize();
        int vd = c.headValueDim();
        int gDim = c.numValueHeads() * c.headDim();
        float[] signedA = new float[c.numValueHeads()];
        for (int j = 0; j < signedA.length; j++) {
            double e = Math.exp(w.aLog()[j]);
            signedA[j] = (float) (kda.lowerBound().isPresent() ? e : -e);
        }
        this.lower = kda.lowerBound().isPresent() ? (float) kda.lowerBound().getAsDouble() : 0f;
        this.q = products.matrix(w.qProj(), c.keyDim(), d);
        this.kProj = products.matrix(w.kProj(), c.keyDim(), d);
        this.v = products.matrix(w.vProj(), c.valueDim(), d);
        this.fDown = products.matrix(w.fDown(), vd, d);
        this.fUp = products.matrix(w.fUp(), gDim, vd);
        this.b = products.matrix(w.bProj(), c.numValueHeads(), d);
        this.gDown = products.matrix(w.gDown(), vd, d);
        this.gUp = products.matrix(w.gUp(), c.valueDim(), vd);
        this.gBias = device.floats(w.gBias());
        this.a = device.floats(signedA);
        this.dtBias = device.floats(w.dtBias());
        this.qConv = device.floats(w.qConv());
        this.kConv = device.floats(w.kConv());
        this.vConv = device.floats(w.vConv());
        this.oNorm = device.floats(w.oNorm());
        this.o = products.matrix(w.oProj(), d, c.valueDim());
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
        int vd = c.headValueDim();
        int gDim = hv * c.headDim();
        long dq = scratch.get("q", 4L * rows * kDim);
        long dk = scratch.get("k", 4L * rows * kDim);
        long dv = scratch.get("v", 4L * rows * vDim);
        long fLow = scratch.get("kda_flow", 4L * rows * vd);
        long dg = scratch.get("kda_g", 4L * rows * gDim);
        long beta = scratch.get("beta", 4L * rows * hv);
        long gateLow = scratch.get("kda_gatelow", 4L * rows * vd);
        long gate = scratch.get("gate", 4L * rows * vDim);
        long dout = scratch.get("o", 4L * rows * vDim);
        mm.prepare(x, rows, c.hiddenSize());
        mm.linear(x, rows, q, dq);
        mm.linear(x, rows, kProj, dk);
        mm.linear(x, rows, v, dv);
        mm.linear(x, rows, fDown, fLow);
        mm.linear(x, rows, b, beta);
        mm.linear(x, rows, gDown, gateLow);
        mm.prepare(fLow, rows, vd);
        mm.linear(fLow, rows, fUp, dg);
        mm.prepare(gateLow, rows, vd);
        mm.linear(gateLow, rows, gUp, gate);
        ops.addBias(gate, gBias, rows, vDim);
        CudaMemoryPool pool = p.pool();
        CudaQkvConvolution.apply(p, layer, dq, dk, dv, qConv, kConv, vConv);
        k.gates(dg, beta, a, dtBias, rows, hv, c.headDim(), c.allowNegEigval() ? 2f : 1f, lower);
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        DeltaRuleArrays arrays = new DeltaRuleArrays(dq, dk, dv, dg, beta, p.offsets(), p.slots(), pool.part(layer, 0),
                dout);
        CudaRecurrentGatedDeltaRule rule = k.rule();
        if (p.oneTokenEach()) {
            rule.step(arrays, n, scale);
        } else {
            rule.run(arrays, n, scale);
        }
        k.gatedRmsNorm(dout, gate, oNorm, mm.bf16Output(dout, rows, vDim), rows * hv, vd, c.normEps());
        mm.prepare(dout, rows, vDim);
        mm.linear(dout, rows, o, y);
    }
}
