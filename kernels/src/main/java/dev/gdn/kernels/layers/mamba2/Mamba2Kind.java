package dev.gdn.kernels.layers.mamba2;

import dev.gdn.kernels.config.Mamba2Config;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.LayerKind;
import dev.gdn.kernels.layers.MixerWeights;
import dev.gdn.kernels.layers.RandomTensors;
import dev.gdn.kernels.layers.WeightReader;
import dev.gdn.kernels.model.TokenMixer;
import java.util.Arrays;
import java.util.List;

/** Mamba2 (the SSD scan with a gated group norm): the layers config.json's {@code mamba2} block names. */
public final class Mamba2Kind implements LayerKind {

    @Override
    public String name() {
        return "mamba2";
    }

    @Override
    public boolean owns(ModelConfig c, int layer) {
        return c.mamba2().map(m -> m.isMamba2Layer(layer)).orElse(false);
    }

    @Override
    public MixerWeights load(WeightReader r, String p, ModelConfig c) {
        Mamba2Config m = c.mamba2().orElseThrow();
        int d = c.hiddenSize();
        int h = m.numHeads();
        int ch = m.convDim();
        return new Mamba2Weights(r.get(p + "in_proj.weight", m.inProjRows(), d),
                r.get(p + "conv1d.weight", ch, 1, m.convKernel()), m.convBias() ? r.get(p + "conv1d.bias", ch) : null,
                r.get(p + "dt_bias", h), r.get(p + "A_log", h), r.get(p + "D", h), r.get(p + "norm.weight", m.innerDim()),
                r.get(p + "out_proj.weight", d, m.innerDim()));
    }

    @Override
    public MixerWeights random(ModelConfig c, RandomTensors r) {
        Mamba2Config m = c.mamba2().orElseThrow();
        int d = c.hiddenSize();
        int h = m.numHeads();
        float[] dt = new float[h];
        float[] aLog = new float[h];
        for (int j = 0; j < h; j++) {
            dt[j] = (float) (r.uniform() * 2 - 4);
            aLog[j] = (float) Math.log(1 + 15 * r.uniform());
        }
        return new Mamba2Weights(r.normal(m.inProjRows() * d), r.normal(m.convDim() * m.convKernel()),
                m.convBias() ? r.normal(m.convDim()) : null, dt, aLog, r.ones(h), r.ones(m.innerDim()),
                r.normal(d * m.innerDim()));
    }

    @Override
    public List<float[]> tensors(MixerWeights mixer) {
        Mamba2Weights m = weights(mixer, Mamba2Weights.class);
        return Arrays.asList(m.inProj(), m.conv(), m.convBias(), m.dtBias(), m.aLog(), m.d(), m.norm(), m.outProj());
    }

    @Override
    public TokenMixer cpuMixer(ModelConfig c, MixerWeights w) {
        return new Mamba2Mixer(c.mamba2().orElseThrow(), weights(w, Mamba2Weights.class), c.hiddenSize());
    }
}
