package dev.gdn.kernels.layers.gdn;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cpu.Scratch;
import dev.gdn.kernels.deltarule.DeltaRuleInputs;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.ForwardResult;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.TokenMixer;
import dev.gdn.kernels.ops.Activations;
import dev.gdn.kernels.ops.Linear;
import dev.gdn.kernels.ops.Norms;
import java.util.List;

/**
 * The Gated DeltaNet token mixer over a batch of streams (rows as in {@link ForwardResult}):
 * <pre>
 *   q, k, v = silu(conv(x W_q)), silu(conv(x W_k)), silu(conv(x W_v));  q, k L2-normalised per head
 *   beta = sigmoid(x W_b) (x2 with allow_neg_eigval);  g = -exp(A_log) * softplus(x W_a + dt_bias)
 *   o = gated delta rule(q, k, v, g, beta; S);  o = rmsNorm(o) * silu(x W_g) per value head;  y = o W_o
 * </pre>
 */
final class DeltaNetMixer implements TokenMixer {
    private static final Scratch.Slot Q = Scratch.slot("gdn.q");
    private static final Scratch.Slot K = Scratch.slot("gdn.k");
    private static final Scratch.Slot V = Scratch.slot("gdn.v");
    private static final Scratch.Slot A = Scratch.slot("gdn.a");
    private static final Scratch.Slot B = Scratch.slot("gdn.b");
    private static final Scratch.Slot GATE = Scratch.slot("gdn.gate");
    private static final Scratch.Slot G = Scratch.slot("gdn.g");
    private static final Scratch.Slot BETA = Scratch.slot("gdn.beta");
    private static final Scratch.Slot O = Scratch.slot("gdn.o");
    private static final Scratch.Slot OUT = Scratch.slot("gdn.out");

    private final ModelConfig config;
    private final DeltaNetWeights w;
    private final DeltaRuleShape shape;
    private final float[] negA;

    DeltaNetMixer(ModelConfig config, DeltaNetWeights w) {
        this.config = config;
        this.w = w;
        this.shape = new DeltaRuleShape(config.numHeads(), config.numValueHeads(), config.headDim(),
                config.headValueDim());
        this.negA = new float[config.numValueHeads()];
        for (int j = 0; j < negA.length; j++) {
            negA[j] = (float) -Math.exp(w.aLog()[j]);
        }
    }

    DeltaRuleShape shape() {
        return shape;
    }

    @Override
    public LayerMemory newMemory() {
        return DeltaNetLayerMemory.zeros(shape.valueHeads() * shape.headStateSize(), config.convSize() - 1,
                config.keyDim(), config.valueDim());
    }

    @Override
    public boolean fits(LayerMemory lm) {
        return lm instanceof DeltaNetLayerMemory dm
                && dm.state().length == config.numValueHeads() * config.headDim() * config.headValueDim()
                && dm.convQ().length == (config.convSize() - 1) * config.keyDim()
                && dm.convV().length == (config.convSize() - 1) * config.valueDim();
    }

    @Override
    public float[] forward(CpuKernels cpu, float[] x, int[] offsets, List<StreamInput> batch, int layer) {
        return forward(cpu, x, offsets, TokenMixer.memories(batch, layer, DeltaNetLayerMemory.class));
    }

    /**
     * @param x       {@code [rows, D]}, normed block input
     * @param offsets stream row offsets
     * @param memories this layer's memory of each stream, advanced in place
     * @return {@code [rows, D]} in the first {@code rows * D} floats of this thread's scratch
     */
    float[] forward(CpuKernels cpu, float[] x, int[] offsets, List<DeltaNetLayerMemory> memories) {
        var m = cpu.math();
        var par = cpu.parallel();
        int rows = offsets[offsets.length - 1];
        int d = config.hiddenSize();
        int kDim = config.keyDim();
        int vDim = config.valueDim();
        int hv = config.numValueHeads();
        int streams = memories.size();

        Scratch scratch = Scratch.ofThread();
        float[] q = Linear.applyInto(par, m, x, rows, d, w.qProj(), kDim, null, scratch.get(Q, rows * kDim));
        float[] k = Linear.applyInto(par, m, x, rows, d, w.kProj(), kDim, null, scratch.get(K, rows * kDim));
        float[] v = Linear.applyInto(par, m, x, rows, d, w.vProj(), vDim, null, scratch.get(V, rows * vDim));
        float[] a = Linear.applyInto(par, m, x, rows, d, w.aProj(), hv, null, scratch.get(A, rows * hv));
        float[] b = Linear.applyInto(par, m, x, rows, d, w.bProj(), hv, null, scratch.get(B, rows * hv));
        float[] gate = w.gProj() == null ? null
                : Linear.applyInto(par, m, x, rows, d, w.gProj(), vDim, null, scratch.get(GATE, rows * vDim));

        QkvConvolution.apply(cpu, config, w.qConv(), w.kConv(), w.vConv(), memories, offsets, q, k, v);

        float[] g = scratch.get(G, rows * hv);
        float[] beta = scratch.get(BETA, rows * hv);
        float betaScale = config.allowNegEigval() ? 2f : 1f;
        int kd = config.headDim();
        par.forEach(rows, 2L * kDim + 64L * hv, r -> {
            for (int h = 0; h < config.numHeads(); h++) {
                Norms.l2NormInPlace(m, q, r * kDim + h * kd, kd);
                Norms.l2NormInPlace(m, k, r * kDim + h * kd, kd);
            }
            for (int j = 0; j < hv; j++) {
                int i = r * hv + j;
                beta[i] = betaScale * Activations.sigmoid(b[i]);
                g[i] = negA[j] * Activations.softplus(a[i] + w.dtBias()[j]);
            }
        });

        float[] o = scratch.get(O, rows * vDim);
        float scale = (float) (1.0 / Math.sqrt(kd));
        long ruleWork = 3L * shape.headStateSize() * (offsets[streams] / Math.max(1, streams) + 1);
        par.forEach(streams * hv, ruleWork, task -> {
            int s = task / hv;
            int j = task % hv;
            int r0 = offsets[s];
            int n = offsets[s + 1] - r0;
            DeltaRuleInputs in = new DeltaRuleInputs(shape, r0, n, q, k, v, g, beta, scale);
            cpu.ruleFor(n, shape.headStateSize()).forwardHead(in, j, memories.get(s).state(), j * shape.headStateSize(), o);
        });

        int vd = config.headValueDim();
        par.forEach(rows, 40L * vDim, r -> {
            for (int j = 0; j < hv; j++) {
                int off = r * vDim + j * vd;
                Norms.gatedRmsNormInPlace(m, o, off, vd, w.oNorm(), config.normEps(), gate, off);
            }
        });
        return Linear.applyInto(par, m, o, rows, vDim, w.oProj(), d, null, scratch.get(OUT, rows * d));
    }
}
