package dev.gdn.kernels.layers.gdn;

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
        DeltaNetWeights x = weights(mixer, DeltaNetWeights.class);
        return Arrays.asList(x.qProj(), x.kProj(), x.vProj(), x.aProj(), x.bProj(), x.aLog(), x.dtBias(), x.qConv(),
                x.kConv(), x.vConv(), x.gProj(), x.oNorm(), x.oProj());
    }

    @Override
    public TokenMixer cpuMixer(ModelConfig c, MixerWeights w) {
        return new DeltaNetMixer(c, weights(w, DeltaNetWeights.class));
    }
}
