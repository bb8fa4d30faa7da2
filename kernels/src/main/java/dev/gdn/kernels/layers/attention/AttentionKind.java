package dev.gdn.kernels.layers.attention;

import java.util.Set;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gdn.kernels.cuda.CudaLayer;
import java.util.Optional;
import java.util.ArrayList;
import dev.gdn.kernels.parity.FlaStates;
import dev.gdn.kernels.ops.RotaryEmbedding;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.layers.MemoryShape;
import dev.gdn.kernels.io.SafetensorsWriter;
import dev.gdn.kernels.layers.attention.AttentionConfig;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.LayerKind;
import dev.gdn.kernels.layers.MixerWeights;
import dev.gdn.kernels.layers.RandomTensors;
import dev.gdn.kernels.layers.WeightReader;
import dev.gdn.kernels.model.TokenMixer;
import java.util.Arrays;
import java.util.List;

/** Sliding-window softmax attention with RoPE: the layers config.json's {@code attn} block names. */
public final class AttentionKind implements LayerKind {

    @Override
    public String name() {
        return "attention";
    }

    private static final CudaLayer CUDA = new AttentionCuda();

    @Override
    public Optional<CudaLayer> cuda() {
        return Optional.of(CUDA);
    }

    @Override
    public Set<String> configKeys() {
        return Set.of("attn");
    }

    /** The {@code attn} block, in any model type. */
    @Override
    public Optional<Object> parseBlock(JsonNode root, String source, String modelType, int hidden, int layers) {
        return AttentionConfig.parse(root, source, hidden, layers).map(a -> a);
    }

    @Override
    public String label() {
        return "sliding-window attention";
    }

    @Override
    public void appendConfig(ModelConfig c, StringBuilder sb) {
        AttentionConfig.of(c).ifPresent(a -> sb.append(";attn=").append(new java.util.TreeSet<>(a.layers())).append(',')
                .append(a.numHeads()).append(',').append(a.numKvHeads()).append(',').append(a.headDim()).append(',')
                .append(a.windowSize()).append(',').append(Double.doubleToLongBits(a.ropeTheta())).append(',')
                .append(a.qkvBias()));
    }

    @Override
    public boolean owns(ModelConfig c, int layer) {
        return AttentionConfig.of(c).map(a -> a.isAttentionLayer(layer)).orElse(false);
    }

    @Override
    public MixerWeights load(WeightReader r, String p, ModelConfig c) {
        AttentionConfig a = AttentionConfig.of(c).orElseThrow();
        int d = c.hiddenSize();
        int q = a.numHeads() * a.headDim();
        int kv = a.numKvHeads() * a.headDim();
        boolean bias = a.qkvBias();
        return new AttentionWeights(r.get(p + "q_proj.weight", q, d), r.get(p + "k_proj.weight", kv, d),
                r.get(p + "v_proj.weight", kv, d), r.get(p + "o_proj.weight", d, q),
                bias ? r.get(p + "q_proj.bias", q) : null, bias ? r.get(p + "k_proj.bias", kv) : null,
                bias ? r.get(p + "v_proj.bias", kv) : null);
    }

    @Override
    public MixerWeights random(ModelConfig c, RandomTensors r) {
        AttentionConfig a = AttentionConfig.of(c).orElseThrow();
        int d = c.hiddenSize();
        int q = a.numHeads() * a.headDim();
        int kv = a.numKvHeads() * a.headDim();
        return new AttentionWeights(r.normal(q * d), r.normal(kv * d), r.normal(kv * d), r.normal(d * q), null, null,
                null);
    }

    @Override
    public List<float[]> tensors(MixerWeights mixer) {
        AttentionWeights a = cast(mixer, AttentionWeights.class);
        return Arrays.asList(a.qProj(), a.kProj(), a.vProj(), a.oProj(), a.qBias(), a.kBias(), a.vBias());
    }

    @Override
    public TokenMixer cpuMixer(ModelConfig c, MixerWeights w) {
        return new AttentionMixer(AttentionConfig.of(c).orElseThrow(), cast(w, AttentionWeights.class), c.hiddenSize());
    }

    @Override
    public int code() {
        return 1;
    }

    @Override
    public int formatVersion() {
        return 1;
    }

    /** Dimensions: the window W and the row size Hkv * Dh. */
    @Override
    public MemoryShape memoryShape(ModelConfig c) {
        AttentionConfig a = AttentionConfig.of(c).orElseThrow();
        return MemoryShape.of(this, a.windowSize(), a.numKvHeads() * a.headDim());
    }

    @Override
    public int headerDims() {
        return 2;
    }

    @Override
    public boolean positioned() {
        return true;
    }

    /** Keys and values {@code [W, row]} (ring slots; keys unrotated). */
    @Override
    public long[] partFloats(MemoryShape s) {
        long ring = (long) s.dim(0) * s.dim(1);
        return new long[] {ring, ring};
    }

    @Override
    public String describe(MemoryShape s) {
        return "attention[W=" + s.dim(0) + ", row=" + s.dim(1) + "]";
    }

    /** Also the window and row size themselves (the ring's arrays alone cannot tell W x row from row x W). */
    @Override
    public boolean fits(MemoryShape s, LayerMemory m) {
        return LayerKind.super.fits(s, m) && m instanceof AttentionLayerMemory a && a.window() == s.dim(0)
                && a.rowSize() == s.dim(1);
    }

    @Override
    public LayerMemory fromParts(MemoryShape s, float[][] p, long position) {
        return new AttentionLayerMemory(s.dim(0), s.dim(1), p[0], p[1], position);
    }

    /**
     * {@code attn_keys}, {@code attn_values} {@code [n, row]}: the cached window, oldest first, keys unrotated;
     * metadata {@code position}, the absolute position of the next token.
     */
    @Override
    public void export(MemoryShape s, LayerMemory m, String prefix, SafetensorsWriter w) {
        AttentionLayerMemory am = cast(m, AttentionLayerMemory.class);
        int n = am.cachedCount();
        int row = am.rowSize();
        float[] keys = new float[n * row];
        float[] values = new float[n * row];
        for (int e = 0; e < n; e++) {
            System.arraycopy(am.keys(), am.slotOfCached(e) * row, keys, e * row, row);
            System.arraycopy(am.values(), am.slotOfCached(e) * row, values, e * row, row);
        }
        w.addF32(prefix + "attn_keys", keys, n, row);
        w.addF32(prefix + "attn_values", values, n, row);
        w.metadata(prefix + "position", Long.toString(am.position()));
    }

    /** {@code attn_state.0} and {@code .1}: FLA's window of rotated keys and of values, last rows, oldest first. */
    @Override
    public void compareFlaStates(ModelConfig c, int layer, List<LayerMemory> mems, FlaStates fla) {
        String p = "state.layers." + layer + ".";
        if (!fla.has(p + "attn_state.0")) {
            return;
        }
        AttentionConfig a = AttentionConfig.of(c).orElseThrow();
        RotaryEmbedding rope = new RotaryEmbedding(a.headDim(), a.ropeTheta());
        List<float[]> keys = new ArrayList<>();
        List<float[]> vals = new ArrayList<>();
        for (LayerMemory m : mems) {
            AttentionLayerMemory am = cast(m, AttentionLayerMemory.class);
            keys.add(rotatedKeys(am, a.numKvHeads(), a.headDim(), rope));
            vals.add(orderedValues(am));
        }
        int row = a.numKvHeads() * a.headDim();
        int b = mems.size();
        fla.add(p + "attn_state.0", FlaStates.concat(keys), fla.lastRows(p + "attn_state.0", b, keys.get(0).length / row,
                row));
        fla.add(p + "attn_state.1", FlaStates.concat(vals), fla.lastRows(p + "attn_state.1", b, vals.get(0).length / row,
                row));
    }

    /** Our ring of keys, oldest first, each head rotated at its absolute position: {@code [n, Hkv*Dh]}. */
    static float[] rotatedKeys(AttentionLayerMemory mem, int kvHeads, int headDim, RotaryEmbedding rope) {
        int n = mem.cachedCount();
        int row = mem.rowSize();
        float[] out = new float[n * row];
        long first = mem.position() - n;
        for (int i = 0; i < n; i++) {
            System.arraycopy(mem.keys(), mem.slotOfCached(i) * row, out, i * row, row);
            for (int h = 0; h < kvHeads; h++) {
                rope.rotateAbsolute(out, i * row + h * headDim, first + i);
            }
        }
        return out;
    }

    /** Our ring of values, oldest first: {@code [n, Hkv*Dh]}. */
    static float[] orderedValues(AttentionLayerMemory mem) {
        int n = mem.cachedCount();
        int row = mem.rowSize();
        float[] out = new float[n * row];
        for (int i = 0; i < n; i++) {
            System.arraycopy(mem.values(), mem.slotOfCached(i) * row, out, i * row, row);
        }
        return out;
    }
}
