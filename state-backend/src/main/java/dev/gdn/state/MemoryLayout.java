package dev.gdn.state;

import dev.gdn.kernels.config.AttentionConfig;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.AttentionLayerMemory;
import dev.gdn.kernels.model.DeltaNetLayerMemory;
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
    public sealed interface Layer extends java.io.Serializable permits DeltaNet, Attention {
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
            } else {
                Attention a = (Attention) layers.get(i);
                out[i] = AttentionLayerMemory.zeros(a.window(), a.rowSize());
            }
        }
        return new StreamMemory(out, 0, fingerprint);
    }

    /** Whether a memory has exactly this layout. */
    public boolean matches(StreamMemory m) {
        if (m.layerCount() != layers.size()) {
            return false;
        }
        for (int i = 0; i < layers.size(); i++) {
            LayerMemory lm = m.layer(i);
            boolean ok = layers.get(i) instanceof DeltaNet d
                    ? lm instanceof DeltaNetLayerMemory dm && dm.state().length == d.stateFloats()
                            && dm.convQ().length == d.convHistory() * d.qkDim()
                            && dm.convK().length == d.convHistory() * d.qkDim()
                            && dm.convV().length == d.convHistory() * d.vDim()
                    : lm instanceof AttentionLayerMemory am && am.window() == ((Attention) layers.get(i)).window()
                            && am.rowSize() == ((Attention) layers.get(i)).rowSize();
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return layers.toString();
    }
}
