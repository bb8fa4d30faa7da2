package dev.gdn.kernels.layers.kda;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cpu.Scratch;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory;
import dev.gdn.kernels.layers.gdn.QkvConvolution;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.TokenMixer;
import dev.gdn.kernels.ops.Activations;
import dev.gdn.kernels.ops.Linear;
import dev.gdn.kernels.ops.Norms;
import java.util.List;

/**
 * The Kimi Delta Attention mixer over a batch of streams (rows as the model's):
 * <pre>
 *   q, k, v = silu(conv(x W_q)), silu(conv(x W_k)), silu(conv(x W_v));  q, k L2-normalised per head
 *   f = (x W_f0) W_f1 [HV*K];  g = -exp(A_log) * softplus(f + dt_bias)   (or lower_bound * sigmoid(exp(A_log) (f + dt_bias)))
 *   beta = sigmoid(x W_b) (x2 with allow_neg_eigval)
 *   o = Kimi delta rule(q, k, v, g, beta; S);  o = rmsNorm(o) * sigmoid((x W_g0) W_g1 + b_g1) per value head;  y = o W_o
 * </pre>
 * A stream's run takes the token-by-token rule ({@link KdaRule}), or the chunkwise one ({@link KdaChunkedRule})
 * where the CPU kernels would choose it for Gated DeltaNet heads of half the size ({@link CpuKernels#chunked}:
 * a long run on large heads; KDA's token-by-token rule keeps up with its chunkwise one up to heads of 64 Ki
 * states and falls behind beyond, docs/BENCHMARKS.md); the choice depends only on the model and the
 * stream's own run.
 */
final class KdaMixer implements TokenMixer {
    private static final Scratch.Slot Q = Scratch.slot("kda.q");
    private static final Scratch.Slot K = Scratch.slot("kda.k");
    private static final Scratch.Slot V = Scratch.slot("kda.v");
    private static final Scratch.Slot F_LOW = Scratch.slot("kda.flow");
    private static final Scratch.Slot G = Scratch.slot("kda.g");
    private static final Scratch.Slot B = Scratch.slot("kda.b");
    private static final Scratch.Slot GATE_LOW = Scratch.slot("kda.gatelow");
    private static final Scratch.Slot GATE = Scratch.slot("kda.gate");
    private static final Scratch.Slot O = Scratch.slot("kda.o");
    private static final Scratch.Slot OUT = Scratch.slot("kda.out");

    /** How many times Gated DeltaNet's head size KDA's heads need before the chunkwise rule pays. */
    static final int CHUNK_HEAD_SCALE = 2;

    private final ModelConfig config;
    private final KdaConfig kda;
    private final KdaWeights w;
    private final DeltaRuleShape shape;
    /** -exp(A_log) per value head, or exp(A_log) under a lower bound. */
    private final float[] a;

    KdaMixer(ModelConfig config, KdaWeights w) {
        this.config = config;
        this.kda = KdaConfig.of(config).orElseThrow();
        this.w = w;
        this.shape = new DeltaRuleShape(config.numHeads(), config.numValueHeads(), config.headDim(),
                config.headValueDim());
        this.a = new float[config.numValueHeads()];
        for (int j = 0; j < a.length; j++) {
            double e = Math.exp(w.aLog()[j]);
            a[j] = (float) (kda.lowerBound().isPresent() ? e : -e);
        }
    }

    @Override
    public LayerMemory newMemory() {
        return new DeltaNetLayerMemory(LayerKinds.KDA, new float[shape.stateSize()],
                new float[(config.convSize() - 1) * config.keyDim()], new float[(config.convSize() - 1) * config.keyDim()],
                new float[(config.convSize() - 1) * config.valueDim()]);
    }

    @Override
    public boolean fits(LayerMemory lm) {
        return LayerKinds.KDA.fits(LayerKinds.KDA.memoryShape(config), lm);
    }

    @Override
    public float[] forward(CpuKernels cpu, float[] x, int[] offsets, List<StreamInput> batch, int layer) {
        List<DeltaNetLayerMemory> memories = TokenMixer.memories(batch, layer, DeltaNetLayerMemory.class);
        var m = cpu.math();
        var par = cpu.parallel();
        int rows = offsets[offsets.length - 1];
        int d = config.hiddenSize();
        int kDim = config.keyDim();
        int vDim = config.valueDim();
        int hv = config.numValueHeads();
        int kd = config.headDim();
        int vd = config.headValueDim();
        int gDim = hv * kd;
        int streams = memories.size();

        Scratch scratch = Scratch.ofThread();
        float[] q = Linear.applyInto(par, m, x, rows, d, w.qProj(), kDim, null, scratch.get(Q, rows * kDim));
        float[] k = Linear.applyInto(par, m, x, rows, d, w.kProj(), kDim, null, scratch.get(K, rows * kDim));
        float[] v = Linear.applyInto(par, m, x, rows, d, w.vProj(), vDim, null, scratch.get(V, rows * vDim));
        float[] fLow = Linear.applyInto(par, m, x, rows, d, w.fDown(), vd, null, scratch.get(F_LOW, rows * vd));
        float[] g = Linear.applyInto(par, m, fLow, rows, vd, w.fUp(), gDim, null, scratch.get(G, rows * gDim));
        float[] b = Linear.applyInto(par, m, x, rows, d, w.bProj(), hv, null, scratch.get(B, rows * hv));
        float[] gateLow = Linear.applyInto(par, m, x, rows, d, w.gDown(), vd, null, scratch.get(GATE_LOW, rows * vd));
        float[] gate = Linear.applyInto(par, m, gateLow, rows, vd, w.gUp(), vDim, w.gBias(),
                scratch.get(GATE, rows * vDim));

        QkvConvolution.apply(cpu, config, w.qConv(), w.kConv(), w.vConv(), memories, offsets, q, k, v);

        float betaScale = config.allowNegEigval() ? 2f : 1f;
        boolean bounded = kda.lowerBound().isPresent();
        float lower = bounded ? (float) kda.lowerBound().getAsDouble() : 0f;
        par.forEach(rows, 2L * kDim + 8L * gDim, r -> {
            for (int h = 0; h < config.numHeads(); h++) {
                Norms.l2NormInPlace(m, q, r * kDim + h * kd, kd);
                Norms.l2NormInPlace(m, k, r * kDim + h * kd, kd);
            }
            for (int j = 0; j < hv; j++) {
                b[r * hv + j] = betaScale * Activations.sigmoid(b[r * hv + j]);
                for (int c = 0; c < kd; c++) {
                    int i = r * gDim + j * kd + c;
                    float f = g[i] + w.dtBias()[j * kd + c];
                    g[i] = bounded ? lower * Activations.sigmoid(a[j] * f) : a[j] * Activations.softplus(f);
                }
            }
        });

        float[] o = scratch.get(O, rows * vDim);
        float scale = (float) (1.0 / Math.sqrt(kd));
        KdaRule rule = new KdaRule(m);
        KdaChunkedRule chunked = new KdaChunkedRule(m);
        long ruleWork = 3L * shape.headStateSize() * (rows / Math.max(1, streams) + 1);
        par.forEach(streams * hv, ruleWork, task -> {
            int s = task / hv;
            int j = task % hv;
            int r0 = offsets[s];
            KdaInputs in = new KdaInputs(shape, r0, offsets[s + 1] - r0, q, k, v, g, b, scale);
            if (cpu.chunked(in.tokens(), shape.headStateSize() / CHUNK_HEAD_SCALE)) {
                chunked.forwardHead(in, j, memories.get(s).state(), j * shape.headStateSize(), o);
            } else {
                rule.forwardHead(in, j, memories.get(s).state(), j * shape.headStateSize(), o);
            }
        });

        par.forEach(rows, 40L * vDim, r -> {
            for (int j = 0; j < hv; j++) {
                int off = r * vDim + j * vd;
                Norms.rmsNorm(m, o, off, vd, w.oNorm(), config.normEps(), o, off);
                for (int c = 0; c < vd; c++) {
                    o[off + c] *= Activations.sigmoid(gate[off + c]);
                }
            }
        });
        return Linear.applyInto(par, m, o, rows, vDim, w.oProj(), d, null, scratch.get(OUT, rows * d));
    }
}
