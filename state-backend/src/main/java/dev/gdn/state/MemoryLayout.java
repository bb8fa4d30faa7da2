package dev.gdn.state;

import dev.gdn.kernels.config.AttentionConfig;
import dev.gdn.kernels.config.Mamba2Config;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.attention.AttentionLayerMemory;
import dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory;
import dev.gdn.kernels.layers.mamba2.Mamba2LayerMemory;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.ModelFingerprint;
import dev.gdn.kernels.model.StreamMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * The shapes of a model's stream memory, layer by layer: what the format header declares and what a
 * reader expects. Sizes come from here, never from the bytes being read.
 */
public record MemoryLayout(List<Layer> layers) implements java.io.Serializable {

    /** One layer's share of the memory. */
    public sealed interface Layer extends java.io.Serializable permits DeltaNet, Attention, Mamba2 {
        /** Floats this layer stores. */
        long floats();

        /** Kind code in the format. */
        int kind();
    }

    /**
     * A Gated DeltaNet layer: state {@code [HV, K, V]}, conv caches {@code [W-1, qkDim]} (q and k) and
     * {@code [W-1, vDim]} (v).
     */
    public record DeltaNet(int valueHeads, int keyDim, int valueDim, int convHistory, int qkDim, int vDim)
            implements Layer {
        @Override
        public long floats() {
            return (long) valueHeads * keyDim * valueDim + (long) convHistory * (2L * qkDim + vDim);
        }

        @Override
        public int kind() {
            return 0;
        }

        int stateFloats() {
            return valueHeads * keyDim * valueDim;
        }

        @Override
        public String toString() {
            return "deltanet[HV=" + valueHeads + ", K=" + keyDim + ", V=" + valueDim + ", conv=" + convHistory + "x("
                    + qkDim + "," + qkDim + "," + vDim + ")]";
        }
    }

    /** A sliding-window attention layer: keys and values {@code [W, row]} and a position. */
    public record Attention(int window, int rowSize) implements Layer {
        @Override
        public long floats() {
            return 2L * window * rowSize;
        }

        @Override
        public int kind() {
            return 1;
        }

        @Override
        public String toString() {
            return "attention[W=" + window + ", row=" + rowSize + "]";
        }
    }

    /**
     * A Mamba2 layer: SSM state {@code [H, P, N]} and the convolution cache {@code [Kc-1, C]} (C = I + 2GN).
     * Kind 2, from format version 4 on.
     */
    public record Mamba2(int heads, int headDim, int stateSize, int convHistory, int convDim) implements Layer {
        @Override
        public long floats() {
            return (long) heads * headDim * stateSize + (long) convHistory * convDim;
        }

        @Override
        public int kind() {
            return 2;
        }

        int stateFloats() {
            return heads * headDim * stateSize;
        }

        @Override
        public String toString() {
            return "mamba2[H=" + heads + ", P=" + headDim + ", N=" + stateSize + ", conv=" + convHistory + "x" + convDim
                    + "]";
        }
    }

    public MemoryLayout {
        layers = List.copyOf(layers);
    }

    /** The layout a model with this config gives its streams. */
    public static MemoryLayout of(ModelConfig c) {
        List<Layer> l = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            if (c.isAttentionLayer(i)) {
                AttentionConfig a = c.attention().orElseThrow();
                l.add(new Attention(a.windowSize(), a.numKvHeads() * a.headDim()));
            } else if (c.isMamba2Layer(i)) {
                Mamba2Config m = c.mamba2().orElseThrow();
                l.add(new Mamba2(m.numHeads(), m.headDim(), m.stateSize(), m.convKernel() - 1, m.convDim()));
            } else {
                l.add(new DeltaNet(c.numValueHeads(), c.headDim(), c.headValueDim(), c.convSize() - 1, c.keyDim(),
                        c.valueDim()));
            }
        }
        return new MemoryLayout(l);
    }

    /** Floats in one stream memory. */
    public long floats() {
        return layers.stream().mapToLong(Layer::floats).sum();
    }

    /** Whether any layer needs format version 4 (a Mamba2 layer). */
    public boolean hasMamba2() {
        return layers.stream().anyMatch(l -> l instanceof Mamba2);
    }

    /** Payload bytes of one stream memory stored as {@code dtype}. */
    public long payloadBytes(StorageDType dtype) {
        return floats() * dtype.bytes();
    }

    /** A memory of this layout that has seen nothing. */
    public StreamMemory newMemory(ModelFingerprint fingerprint) {
        LayerMemory[] out = new LayerMemory[layers.size()];
        for (int i = 0; i < out.length; i++) {
            if (layers.get(i) instanceof DeltaNet d) {
                out[i] = DeltaNetLayerMemory.zeros(d.stateFloats(), d.convHistory(), d.qkDim(), d.vDim());
            } else if (layers.get(i) instanceof Mamba2 mb) {
                out[i] = Mamba2LayerMemory.zeros(mb.stateFloats(), mb.convHistory() * mb.convDim());
            } else {
                Attention a = (Attention) layers.get(i);
                out[i] = AttentionLayerMemory.zeros(a.window(), a.rowSize());
            }
        }
        return new StreamMemory(out, 0, fingerprint);
    }

    /** Whether a memory has exactly this layout. */
    public boolean matches(StreamMemory m) {
        return mismatch(m).isEmpty();
    }

    /** How a memory differs from this layout (the first difference found), or empty when it has exactly this layout. */
    public java.util.Optional<String> mismatch(StreamMemory m) {
        if (m.layerCount() != layers.size()) {
            return java.util.Optional.of(m.layerCount() + " layers, expected " + layers.size());
        }
        for (int i = 0; i < layers.size(); i++) {
            LayerMemory lm = m.layer(i);
            Layer layer = layers.get(i);
            boolean ok;
            if (layer instanceof DeltaNet d) {
                ok = lm instanceof DeltaNetLayerMemory dm && dm.state().length == d.stateFloats()
                        && dm.convQ().length == d.convHistory() * d.qkDim()
                        && dm.convK().length == d.convHistory() * d.qkDim()
                        && dm.convV().length == d.convHistory() * d.vDim();
            } else if (layer instanceof Mamba2 mb) {
                ok = lm instanceof Mamba2LayerMemory mm && mm.ssm().length == mb.stateFloats()
                        && mm.conv().length == mb.convHistory() * mb.convDim();
            } else {
                ok = lm instanceof AttentionLayerMemory am && am.window() == ((Attention) layer).window()
                        && am.rowSize() == ((Attention) layer).rowSize();
            }
            if (!ok) {
                return java.util.Optional.of("layer " + i + " is a " + lm.getClass().getSimpleName()
                        + " of other sizes than the model's " + layer.getClass().getSimpleName() + " layer");
            }
        }
        return java.util.Optional.empty();
    }

    @Override
    public String toString() {
        return layers.toString();
    }
}
