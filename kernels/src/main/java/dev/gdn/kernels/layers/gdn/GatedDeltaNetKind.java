package dev.gdn.kernels.layers.gdn;

import java.util.Set;
import dev.gdn.kernels.config.ModelType;
import dev.gdn.kernels.cuda.CudaLayer;
import java.util.Optional;
import java.util.ArrayList;
import dev.gdn.kernels.parity.FlaStates;
import dev.gdn.kernels.parity.FlaStateLayout;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.layers.MemoryShape;
import dev.gdn.kernels.io.SafetensorsWriter;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.LayerKind;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MixerWeights;
import dev.gdn.kernels.layers.RandomTensors;
import dev.gdn.kernels.layers.WeightReader;
import dev.gdn.kernels.model.TokenMixer;
import java.util.Arrays;
import java.util.List;

/** The Gated DeltaNet layer: FLA's {@code GatedDeltaNet} (the gated delta rule with short convolutions). */
public final class GatedDeltaNetKind implements LayerKind {

    @Override
    public String name() {
        return "gated_deltanet";
    }

    private static final CudaLayer CUDA = new GatedDeltaNetCuda();

    @Override
    public Optional<CudaLayer> cuda() {
        return Optional.of(CUDA);
    }

    /** FLA's {@code GatedDeltaNetConfig} defaults. */
    private static final ModelType MODEL_TYPE = new ModelType("gated_deltanet", 6, 256, 2.0, 21, Set.of(), Set.of());

    @Override
    public Optional<ModelType> modelType() {
        return Optional.of(MODEL_TYPE);
    }

    @Override
    public String label() {
        return "gated deltanet";
    }

    @Override
    public boolean owns(ModelConfig c, int layer) {
        return LayerKinds.of(c, layer) instanceof GatedDeltaNetKind;
    }

    @Override
    public MixerWeights load(WeightReader r, String p, ModelConfig c) {
        int d = c.hiddenSize();
        int kDim = c.keyDim();
        int vDim = c.valueDim();
        int hv = c.numValueHeads();
        int w = c.convSize();
        boolean conv = c.useShortConv();
        return new DeltaNetWeights(r.get(p + "q_proj.weight", kDim, d), r.get(p + "k_proj.weight", kDim, d),
                r.get(p + "v_proj.weight", vDim, d), r.get(p + "a_proj.weight", hv, d), r.get(p + "b_proj.weight", hv, d),
                r.get(p + "A_log", hv), r.get(p + "dt_bias", hv),
                conv ? r.get(p + "q_conv1d.weight", kDim, 1, w) : null,
                conv ? r.get(p + "k_conv1d.weight", kDim, 1, w) : null,
                conv ? r.get(p + "v_conv1d.weight", vDim, 1, w) : null,
                c.useGate() ? r.get(p + "g_proj.weight", vDim, d) : null,
                r.get(p + "o_norm.weight", c.headValueDim()), r.get(p + "o_proj.weight", d, vDim));
    }

    @Override
    public MixerWeights random(ModelConfig c, RandomTensors r) {
        int d = c.hiddenSize();
        int hv = c.numValueHeads();
        float[] aLog = new float[hv];
        float[] dt = new float[hv];
        for (int j = 0; j < hv; j++) {
            // A in [1, 16], dt bias in [-4, -2)
            aLog[j] = (float) Math.log(1 + 15 * r.uniform());
            dt[j] = (float) (r.uniform() * 2 - 4);
        }
        int w = c.convSize();
        return new DeltaNetWeights(r.normal(c.keyDim() * d), r.normal(c.keyDim() * d), r.normal(c.valueDim() * d),
                r.normal(hv * d), r.normal(hv * d), aLog, dt,
                c.useShortConv() ? r.normal(c.keyDim() * w) : null,
                c.useShortConv() ? r.normal(c.keyDim() * w) : null,
                c.useShortConv() ? r.normal(c.valueDim() * w) : null,
                c.useGate() ? r.normal(c.valueDim() * d) : null, r.ones(c.headValueDim()), r.normal(d * c.valueDim()));
    }

    @Override
    public List<float[]> tensors(MixerWeights mixer) {
        DeltaNetWeights x = cast(mixer, DeltaNetWeights.class);
        return Arrays.asList(x.qProj(), x.kProj(), x.vProj(), x.aProj(), x.bProj(), x.aLog(), x.dtBias(), x.qConv(),
                x.kConv(), x.vConv(), x.gProj(), x.oNorm(), x.oProj());
    }

    @Override
    public TokenMixer cpuMixer(ModelConfig c, MixerWeights w) {
        return new DeltaNetMixer(c, cast(w, DeltaNetWeights.class));
    }

    @Override
    public int code() {
        return 0;
    }

    @Override
    public int formatVersion() {
        return 1;
    }

    /** Dimensions: value heads HV, K, V, conv history W-1, q/k width, v width. */
    @Override
    public MemoryShape memoryShape(ModelConfig c) {
        return MemoryShape.of(this, c.numValueHeads(), c.headDim(), c.headValueDim(), c.convSize() - 1, c.keyDim(),
                c.valueDim());
    }

    @Override
    public int headerDims() {
        return 6;
    }

    /** State {@code [HV, K, V]}, conv caches {@code [W-1, qk]} (q and k) and {@code [W-1, v]} (v). */
    @Override
    public long[] partFloats(MemoryShape s) {
        long hist = s.dim(3);
        return new long[] {(long) s.dim(0) * s.dim(1) * s.dim(2), hist * s.dim(4), hist * s.dim(4), hist * s.dim(5)};
    }

    @Override
    public String describe(MemoryShape s) {
        return "deltanet[HV=" + s.dim(0) + ", K=" + s.dim(1) + ", V=" + s.dim(2) + ", conv=" + s.dim(3) + "x("
                + s.dim(4) + "," + s.dim(4) + "," + s.dim(5) + ")]";
    }

    @Override
    public LayerMemory fromParts(MemoryShape s, float[][] p, long position) {
        return new DeltaNetLayerMemory(p[0], p[1], p[2], p[3]);
    }

    /** {@code recurrent_state [HV, K, V]} (key-first; FLA's cache is the transpose) and {@code conv_state.q|k|v [W-1, width]}. */
    @Override
    public void export(MemoryShape s, LayerMemory m, String prefix, SafetensorsWriter w) {
        float[][] p = m.parts();
        w.addF32(prefix + "recurrent_state", p[0], s.dim(0), s.dim(1), s.dim(2));
        w.addF32(prefix + "conv_state.q", p[1], s.dim(3), s.dim(4));
        w.addF32(prefix + "conv_state.k", p[2], s.dim(3), s.dim(4));
        w.addF32(prefix + "conv_state.v", p[3], s.dim(3), s.dim(5));
    }

    /**
     * {@code recurrent_state [B, HV, V, K]} (FLA keeps the state value-first) and, with short convolutions,
     * {@code conv_state.0|1|2 [B, width, W]} (FLA keeps W inputs, the last W-1 of which are ours).
     */
    @Override
    public void compareFlaStates(ModelConfig c, int layer, List<LayerMemory> mems, FlaStates fla) {
        String p = "state.layers." + layer + ".";
        if (!fla.has(p + "recurrent_state")) {
            return;
        }
        int b = mems.size();
        int hv = c.numValueHeads();
        List<float[]> states = new ArrayList<>();
        for (LayerMemory m : mems) {
            states.add(FlaStateLayout.valueFirst(cast(m, DeltaNetLayerMemory.class).state(), hv, c.headDim(), c.headValueDim()));
        }
        fla.add(p + "recurrent_state", FlaStates.concat(states),
                fla.checked(p + "recurrent_state", b, hv, c.headValueDim(), c.headDim()));
        if (!c.useShortConv()) {
            return;
        }
        int w = c.convSize();
        for (int which = 0; which < 3; which++) {
            String name = p + "conv_state." + which;
            if (!fla.has(name)) {
                continue;
            }
            List<float[]> caches = new ArrayList<>(b);
            for (LayerMemory m : mems) {
                caches.add(cast(m, DeltaNetLayerMemory.class).parts()[1 + which]);
            }
            fla.addConvCaches(name, caches, which == 2 ? c.valueDim() : c.keyDim(), w);
        }
    }
}
