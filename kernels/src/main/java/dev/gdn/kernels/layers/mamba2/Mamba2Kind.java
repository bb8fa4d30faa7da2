package dev.gdn.kernels.layers.mamba2;

import java.util.Set;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gdn.kernels.cuda.CudaLayer;
import java.util.Optional;
import java.util.ArrayList;
import dev.gdn.kernels.parity.FlaStates;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.layers.MemoryShape;
import dev.gdn.kernels.io.SafetensorsWriter;
import dev.gdn.kernels.layers.mamba2.Mamba2Config;
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

    private static final CudaLayer CUDA = new Mamba2Cuda();

    @Override
    public Optional<CudaLayer> cuda() {
        return Optional.of(CUDA);
    }

    @Override
    public Set<String> configKeys() {
        return Set.of("mamba2");
    }

    /** The {@code mamba2} block, in any model type. */
    @Override
    public Optional<Object> parseBlock(JsonNode root, String source, String modelType, int hidden, int layers) {
        return Mamba2Config.parse(root, source, hidden, layers).map(m -> m);
    }

    @Override
    public Optional<String> describeBlock(ModelConfig c) {
        return Mamba2Config.of(c).map(mb -> String.format(java.util.Locale.ROOT,
                "layers %s, heads %d, head dim %d, state %d, groups %d, conv %d", new java.util.TreeSet<>(mb.layers()),
                mb.numHeads(), mb.headDim(), mb.stateSize(), mb.groups(), mb.convKernel()));
    }

    @Override
    public String label() {
        return "mamba2";
    }

    @Override
    public void appendConfig(ModelConfig c, StringBuilder sb) {
        Mamba2Config.of(c).ifPresent(m -> sb.append(";mamba2=").append(new java.util.TreeSet<>(m.layers())).append(',')
                .append(m.numHeads()).append(',').append(m.headDim()).append(',').append(m.stateSize()).append(',')
                .append(m.groups()).append(',').append(m.convKernel()).append(',').append(m.convBias()).append(',')
                .append(Float.floatToIntBits(m.normEps())));
    }

    @Override
    public boolean owns(ModelConfig c, int layer) {
        return Mamba2Config.of(c).map(m -> m.isMamba2Layer(layer)).orElse(false);
    }

    @Override
    public MixerWeights load(WeightReader r, String p, ModelConfig c) {
        Mamba2Config m = Mamba2Config.of(c).orElseThrow();
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
        Mamba2Config m = Mamba2Config.of(c).orElseThrow();
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
        Mamba2Weights m = cast(mixer, Mamba2Weights.class);
        return Arrays.asList(m.inProj(), m.conv(), m.convBias(), m.dtBias(), m.aLog(), m.d(), m.norm(), m.outProj());
    }

    @Override
    public TokenMixer cpuMixer(ModelConfig c, MixerWeights w) {
        return new Mamba2Mixer(Mamba2Config.of(c).orElseThrow(), cast(w, Mamba2Weights.class), c.hiddenSize());
    }

    @Override
    public int code() {
        return 2;
    }

    @Override
    public int formatVersion() {
        return 4;
    }

    /** Dimensions: heads H, head width P, state size N, conv history Kc-1, conv channels I+2GN. */
    @Override
    public MemoryShape memoryShape(ModelConfig c) {
        Mamba2Config m = Mamba2Config.of(c).orElseThrow();
        return MemoryShape.of(this, m.numHeads(), m.headDim(), m.stateSize(), m.convKernel() - 1, m.convDim());
    }

    @Override
    public int headerDims() {
        return 5;
    }

    /** SSM state {@code [H, P, N]} and the convolution cache {@code [Kc-1, C]}. */
    @Override
    public long[] partFloats(MemoryShape s) {
        return new long[] {(long) s.dim(0) * s.dim(1) * s.dim(2), (long) s.dim(3) * s.dim(4)};
    }

    @Override
    public String describe(MemoryShape s) {
        return "mamba2[H=" + s.dim(0) + ", P=" + s.dim(1) + ", N=" + s.dim(2) + ", conv=" + s.dim(3) + "x" + s.dim(4)
                + "]";
    }

    @Override
    public LayerMemory fromParts(MemoryShape s, float[][] p, long position) {
        return new Mamba2LayerMemory(p[0], p[1]);
    }

    /** {@code ssm_state [H, P, N]} and {@code conv_state [Kc-1, I+2GN]}. */
    @Override
    public void export(MemoryShape s, LayerMemory m, String prefix, SafetensorsWriter w) {
        float[][] p = m.parts();
        w.addF32(prefix + "ssm_state", p[0], s.dim(0), s.dim(1), s.dim(2));
        w.addF32(prefix + "conv_state", p[1], s.dim(3), s.dim(4));
    }

    /** {@code recurrent_state [B, H, P, N]} and {@code conv_state [B, C, Kc]} (FLA keeps Kc inputs, the last Kc-1 of which are ours). */
    @Override
    public void compareFlaStates(ModelConfig c, int layer, List<LayerMemory> mems, FlaStates fla) {
        String p = "state.layers." + layer + ".";
        if (!fla.has(p + "recurrent_state")) {
            return;
        }
        Mamba2Config m = Mamba2Config.of(c).orElseThrow();
        int b = mems.size();
        List<float[]> states = new ArrayList<>();
        for (LayerMemory mem : mems) {
            states.add(cast(mem, Mamba2LayerMemory.class).ssm());
        }
        fla.add(p + "recurrent_state", FlaStates.concat(states),
                fla.checked(p + "recurrent_state", b, m.numHeads(), m.headDim(), m.stateSize()));
        String name = p + "conv_state";
        if (!fla.has(name)) {
            return;
        }
        List<float[]> caches = new ArrayList<>(b);
        for (LayerMemory mem : mems) {
            caches.add(cast(mem, Mamba2LayerMemory.class).conv());
        }
        fla.addConvCaches(name, caches, m.convDim(), m.convKernel());
    }
}
