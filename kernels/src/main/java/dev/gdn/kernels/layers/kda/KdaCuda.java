package dev.gdn.kernels.layers.kda;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.CudaDevice;
import dev.gdn.kernels.cuda.CudaLayer;
import dev.gdn.kernels.cuda.CudaRecurrentGatedDeltaRule;
import dev.gdn.kernels.cuda.CudaSetup;
import dev.gdn.kernels.cuda.CudaTokenMixer;
import dev.gdn.kernels.cuda.LaunchArgs;
import dev.gdn.kernels.cuda.StatePrecision;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MixerWeights;
import dev.gdn.kernels.layers.gdn.GatedDeltaNetCuda;
import dev.gdn.kernels.cuda.KernelBuilds;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.bytedeco.cuda.cudart.CUfunc_st;

/**
 * Kimi Delta Attention layers on the GPU: the recurrent delta-rule kernel compiled with a per-key-channel
 * decay and the kind's own element-wise kernels ({@code kda_ops.cu}), shared by the model's KDA layers.
 *
 * <p>Until these kernels have run against the CPU engine on a GPU, the engine takes them only when asked
 * ({@value #ENABLE} set to {@code on}); otherwise a KDA model runs on the CPU backend, saying why.
 */
public final class KdaCuda implements CudaLayer {
    /** The system property that lets the CUDA engine run KDA layers before its kernels are verified on a GPU. */
    public static final String ENABLE = "gdn.cuda.kda";
    public static final String OPS_SOURCE = "/dev/gdn/kernels/layers/kda/kda_ops.cu";
    /** Heads a block of kda_gated_rmsnorm normalises (NORM_HEADS in kda_ops.cu). */
    private static final int NORM_HEADS = 4;

    @Override
    public Optional<String> unsupportedReason(ModelConfig c) {
        if (!"on".equals(System.getProperty(ENABLE))) {
            return Optional.of("kimi delta attention's CUDA kernels are not yet verified on a GPU; KDA models run "
                    + "on the CPU backend (-D" + ENABLE + "=on tries them)");
        }
        if (c.headDim() % 4 != 0) {
            return Optional.of("kda head_dim " + c.headDim() + " is not a multiple of 4, as the CUDA recurrence needs");
        }
        return Optional.empty();
    }

    /** As Gated DeltaNet's: the state {@code [HV, K, V]} (halved in bf16) and the q, k, v convolution caches. */
    @Override
    public long[] partFloats(ModelConfig c, StatePrecision state) {
        return GatedDeltaNetCuda.deltaRuleParts(c, state);
    }

    @Override
    public boolean bf16Part(int part, StatePrecision state) {
        return part == 0 && state == StatePrecision.BF16;
    }

    /** kda_ops.cu, and the recurrence with a per-channel decay for every key width and state precision. */
    @Override
    public List<KernelBuilds.Build> builds(int sharedPerSm) {
        List<KernelBuilds.Build> out = new ArrayList<>();
        out.add(new KernelBuilds.Build(OPS_SOURCE, List.of()));
        for (StatePrecision state : StatePrecision.values()) {
            for (int k : KernelBuilds.KEY_DIMS) {
                out.add(new KernelBuilds.Build(CudaRecurrentGatedDeltaRule.SOURCE, List.of(
                        CudaRecurrentGatedDeltaRule.options(new DeltaRuleShape(1, 1, k, 128), state, true))));
            }
        }
        return out;
    }

    @Override
    public Kernels compile(CudaSetup s) {
        ModelConfig c = s.config();
        DeltaRuleShape shape = new DeltaRuleShape(c.numHeads(), c.numValueHeads(), c.headDim(), c.headValueDim());
        CudaDevice d = s.device();
        Compiled k = new Compiled(new CudaRecurrentGatedDeltaRule(d, shape, s.statePrecision(), true),
                d.function(OPS_SOURCE, "kda_gates"), d.function(OPS_SOURCE, "kda_gated_rmsnorm"), new LaunchArgs(d),
                8 * d.multiprocessors());
        return new Kernels() {
            @Override
            public CudaTokenMixer mixer(MixerWeights w) {
                return new CudaKdaMixer(d, s.products(), c, LayerKinds.KDA.cast(w, KdaWeights.class), k);
            }

            @Override
            public void close() {
                k.args().close();
            }
        };
    }

    /** The compiled kernels of one KDA model. */
    record Compiled(CudaRecurrentGatedDeltaRule rule, CUfunc_st gatesFn, CUfunc_st normFn, LaunchArgs args, int blocks) {

        /** {@code g [rows, HV, K]}, {@code b [rows, HV]} in place into decays and write strengths (kda_gates). */
        void gates(long g, long b, long a, long dtBias, int rows, int hv, int k, float betaScale, float lower) {
            args.reset().add(g).add(b).add(a).add(dtBias).addInt(rows).addInt(hv).addInt(k).addFloat(betaScale)
                    .addFloat(lower).launch(gatesFn, blocks, 1, 1, 256, 1, 1, 0);
        }

        /** Per head of o {@code [heads, V]}: {@code rmsNorm(o) * w * sigmoid(gate)}, in place or into {@code outBf16}. */
        void gatedRmsNorm(long o, long gate, long w, long outBf16, int heads, int dim, float eps) {
            args.reset().add(o).add(gate).add(w).add(outBf16).addInt(heads).addInt(dim).addFloat(eps)
                    .launch(normFn, (heads + NORM_HEADS - 1) / NORM_HEADS, 1, 1, 32 * NORM_HEADS, 1, 1, 0);
        }
    }
}
