package dev.gdn.kernels.layers.gdn;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.CudaMemoryPool;
import dev.gdn.kernels.cuda.CudaModelOps;
import dev.gdn.kernels.cuda.CudaPass;

/**
 * The GPU form of {@link QkvConvolution}, shared by the delta-rule kinds (Gated DeltaNet, KDA): q, k, v
 * through their short causal convolutions over the pool's caches (parts 1, 2, 3 of the layer's memory)
 * with SiLU, or SiLU alone without short convolutions; then q and k L2-normalised per head.
 */
public final class CudaQkvConvolution {
    private CudaQkvConvolution() {
    }

    /** In place on {@code q, k [rows, H*K]} and {@code v [rows, HV*V]}; the convolution weights on the device. */
    public static void apply(CudaPass p, int layer, long q, long k, long v, long qConv, long kConv, long vConv) {
        ModelConfig c = p.config();
        CudaModelOps ops = p.ops();
        CudaMemoryPool pool = p.pool();
        int rows = p.rows();
        int n = p.streams();
        if (c.useShortConv()) {
            ops.shortConv(q, qConv, pool.part(layer, 1), p.slots(), p.offsets(), n, c.keyDim());
            ops.shortConv(k, kConv, pool.part(layer, 2), p.slots(), p.offsets(), n, c.keyDim());
            ops.shortConv(v, vConv, pool.part(layer, 3), p.slots(), p.offsets(), n, c.valueDim());
        } else {
            ops.silu(q, (long) rows * c.keyDim());
            ops.silu(k, (long) rows * c.keyDim());
            ops.silu(v, (long) rows * c.valueDim());
        }
        ops.l2NormHeads(q, k, rows * c.numHeads(), c.headDim());
    }
}
