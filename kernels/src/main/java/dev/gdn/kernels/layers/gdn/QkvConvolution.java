package dev.gdn.kernels.layers.gdn;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.ops.ShortConvolution;
import java.util.List;

/** The q, k, v short convolutions of a delta-rule layer (Gated DeltaNet, Kimi Delta Attention) on the CPU. */
public final class QkvConvolution {
    private QkvConvolution() {
    }

    /**
     * The short convolutions (and SiLU) of q, k and v in place, each stream continuing from its memory's
     * caches (or SiLU alone without short convolutions): the same for every delta-rule kind.
     *
     * @param qConv {@code [H*K, W]} (k alike), {@code vConv [HV*V, W]}; null without short convolutions
     */
    public static void apply(CpuKernels cpu, ModelConfig config, float[] qConv, float[] kConv, float[] vConv,
            List<DeltaNetLayerMemory> memories, int[] offsets, float[] q, float[] k, float[] v) {
        var m = cpu.math();
        int kDim = config.keyDim();
        int vDim = config.valueDim();
        int streams = memories.size();
        int width = config.convSize();
        long convWork = (long) (offsets[streams] / Math.max(1, streams) + 1) * Math.max(kDim, vDim) * width;
        cpu.parallel().forEach(streams * 3, convWork, task -> {
            int s = task / 3;
            int which = task % 3;
            int r0 = offsets[s];
            int n = offsets[s + 1] - r0;
            DeltaNetLayerMemory mem = memories.get(s);
            float[] target = which == 0 ? q : which == 1 ? k : v;
            int dim = which == 2 ? vDim : kDim;
            if (config.useShortConv()) {
                float[] cw = which == 0 ? qConv : which == 1 ? kConv : vConv;
                float[] cache = which == 0 ? mem.convQ() : which == 1 ? mem.convK() : mem.convV();
                ShortConvolution.applyInPlace(m, target, r0, n, dim, cw, null, width, cache);
            } else {
                m.silu(target, r0 * dim, n * dim);
            }
        });
    }
}
