package dev.gdn.kernels.layers.kda;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;
import dev.gdn.kernels.config.ModelType;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.CudaLayer;
import dev.gdn.kernels.io.SafetensorsWriter;
import dev.gdn.kernels.layers.LayerKind;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MemoryShape;
import dev.gdn.kernels.layers.MixerWeights;
import dev.gdn.kernels.layers.RandomTensors;
import dev.gdn.kernels.layers.WeightReader;
import dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.TokenMixer;
import dev.gdn.kernels.parity.FlaStates;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Kimi Delta Attention (FLA's {@code KimiDeltaAttention}, in {@code model_type: kda} checkpoints): the
 * gated delta rule with a decay per key channel. Its memory is laid out as a Gated DeltaNet layer's (the
 * state {@code [HV, K, V]} and the three short-convolution caches) under a kind code of its own, so that
 * a memory of one kind never loads as the other.
 */
public final class KdaKind implements LayerKind {
    /** The Gated DeltaNet kind, whose memory layout, export and fixture states this kind shares. */
    private static final LayerKind DELTA = LayerKinds.GATED_DELTANET;

    @Override
    public String name() {
        return "kda";
    }

    private static final CudaLayer CUDA = new KdaCuda();

    @Override
    public Optional<CudaLayer> cuda() {
        return Optional.of(CUDA);
    }

    /** FLA's {@code KDAConfig} defaults; it has {@code safe_gate} and {@code lower_bound}, and no {@code use_gate} (its output is always gated). */
    private static final ModelType MODEL_TYPE = new ModelType("kda", 16, 128, 1.0, 24, Set.of("safe_gate", "lower_bound"),
            Set.of("use_gate"));

    @Override
    public Optional<ModelType> modelType() {
        return Optional.of(MODEL_TYPE);
    }

    /** The gate's keys of a {@code model_type: kda} config (every delta-rule layer of it is KDA). */
    @Override
    public Optional<Object> parseBlock(JsonNode root, String source, String modelType, int hidden, int layers) {
        return MODEL_TYPE.name().equals(modelType) ? Optional.of(KdaConfig.parse(root, source)) : Optional.empty();
    }

    @Override
    public Optional<String> describeBlock(ModelConfig c) {
        return KdaConfig.of(c).map(k -> "gate " + (k.lowerBound().isPresent() ? "lower_bound * sigmoid(..), lower_bound "
                + k.lowerBound().getAsDouble() : "-exp(A_log) * softplus(..)") + (k.safeGate() ? ", safe_gate" : ""));
    }

    @Override
    public String label() {
        return "kimi delta attention";
    }

    /** {@code ;kda=<lower bound bits or none>} for a kda model (safe_gate changes no math). */
    @Override
    public void appendConfig(ModelConfig c, StringBuilder sb) {
        KdaConfig.of(c).ifPresent(k -> sb.append(";kda=").append(k.lowerBound().isPresent()
                ? Long.toString(Double.doubleToLongBits(k.lowerBound().getAsDouble())) : "none"));
    }

    /** The delta-rule layers of a kda model: those no attention or Mamba2 block names. */
    @Override
    public boolean owns(ModelConfig c, int layer) {
        return KdaConfig.of(c).isPresent() && !LayerKinds.ATTENTION.owns(c, layer) && !LayerKinds.MAMBA2.owns(c, layer);
    }

    @Override
    public MixerWeights load(WeightReader r, String p, ModelConfig c) {
        int d = c.hiddenSize();
        int kDim = c.keyDim();
        int vDim = c.valueDim();
        int hv = c.numValueHeads();
        int vd = c.headValueDim();
        int gDim = hv * c.headDim();
        int w = c.convSize();
        boolean conv = c.useShortConv();
        return new KdaWeights(r.get(p + "q_proj.weight", kDim, d), r.get(p + "k_proj.weight", kDim, d),
                r.get(p + "v_proj.weight", vDim, d),
                conv ? r.get(p + "q_conv1d.weight", kDim, 1, w) : null,
                conv ? r.get(p + "k_conv1d.weight", kDim, 1, w) : null,
                conv ? r.get(p + "v_conv1d.weight", vDim, 1, w) : null,
                r.get(p + "f_proj.0.weight", vd, d), r.get(p + "f_proj.1.weight", gDim, vd),
                r.get(p + "b_proj.weight", hv, d), r.get(p + "A_log", hv), r.get(p + "dt_bias", gDim),
                r.get(p + "g_proj.0.weight", vd, d), r.get(p + "g_proj.1.weight", vDim, vd),
                r.get(p + "g_proj.1.bias", vDim), r.get(p + "o_norm.weight", vd), r.get(p + "o_proj.weight", d, vDim));
    }

    @Override
    public MixerWeights random(ModelConfig c, RandomTensors r) {
        int d = c.hiddenSize();
        int hv = c.numValueHeads();
        int vd = c.headValueDim();
        int gDim = hv * c.headDim();
        float[] aLog = new float[hv];
        for (int j = 0; j < hv; j++) {
            aLog[j] = (float) Math.log(1 + 15 * r.uniform());
        }
        float[] dt = new float[gDim];
        for (int i = 0; i < gDim; i++) {
            dt[i] = (float) (r.uniform() * 2 - 4);
        }
        int w = c.convSize();
        boolean conv = c.useShortConv();
        return new KdaWeights(r.normal(c.keyDim() * d), r.normal(c.keyDim() * d), r.normal(c.valueDim() * d),
                conv ? r.normal(c.keyDim() * w) : null, conv ? r.normal(c.keyDim() * w) : null,
                conv ? r.normal(c.valueDim() * w) : null, r.normal(vd * d), r.normal(gDim * vd), r.normal(hv * d), aLog,
                dt, r.normal(vd * d), r.normal(c.valueDim() * vd), r.normal(c.valueDim()), r.ones(vd),
                r.normal(d * c.valueDim()));
    }

    @Override
    public List<float[]> tensors(MixerWeights mixer) {
        KdaWeights x = cast(mixer, KdaWeights.class);
        return Arrays.asList(x.qProj(), x.kProj(), x.vProj(), x.qConv(), x.kConv(), x.vConv(), x.fDown(), x.fUp(),
                x.bProj(), x.aLog(), x.dtBias(), x.gDown(), x.gUp(), x.gBias(), x.oNorm(), x.oProj());
    }

    @Override
    public TokenMixer cpuMixer(ModelConfig c, MixerWeights w) {
        return new KdaMixer(c, cast(w, KdaWeights.class));
    }

    @Override
    public int code() {
        return 3;
    }

    /** Kind 3 needs no new format version: a release that does not know it refuses it by its code. */
    @Override
    public int formatVersion() {
        return 4;
    }

    @Override
    public MemoryShape memoryShape(ModelConfig c) {
        MemoryShape delta = DELTA.memoryShape(c);
        return new MemoryShape(code(), delta.dims());
    }

    @Override
    public int headerDims() {
        return DELTA.headerDims();
    }

    @Override
    public long[] partFloats(MemoryShape s) {
        return DELTA.partFloats(asDelta(s));
    }

    @Override
    public String describe(MemoryShape s) {
        return "kda" + DELTA.describe(asDelta(s)).substring("deltanet".length());
    }

    @Override
    public LayerMemory fromParts(MemoryShape s, float[][] p, long position) {
        return new DeltaNetLayerMemory(this, p[0], p[1], p[2], p[3]);
    }

    @Override
    public void export(MemoryShape s, LayerMemory m, String prefix, SafetensorsWriter w) {
        DELTA.export(asDelta(s), m, prefix, w);
    }

    /** As a Gated DeltaNet layer's: FLA's KDA cache holds the same tensors (state value-first, conv caches). */
    @Override
    public void compareFlaStates(ModelConfig c, int layer, List<LayerMemory> mems, FlaStates fla) {
        DELTA.compareFlaStates(c, layer, mems, fla);
    }

    private static MemoryShape asDelta(MemoryShape s) {
        return new MemoryShape(DELTA.code(), s.dims());
    }
}
