package dev.gdn.state;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MemoryShape;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.ModelFingerprint;
import dev.gdn.kernels.model.StreamMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * The shapes of a model's stream memory, layer by layer (each as its layer kind lays it out): what the
 * format header declares and what a reader expects. Sizes come from here, never from the bytes being read.
 */
public record MemoryLayout(List<MemoryShape> layers) implements java.io.Serializable {

    public MemoryLayout {
        layers = List.copyOf(layers);
    }

    /** The layout a model with this config gives its streams. */
    public static MemoryLayout of(ModelConfig c) {
        List<MemoryShape> l = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            l.add(LayerKinds.of(c, i).memoryShape(c));
        }
        return new MemoryLayout(l);
    }

    /** Floats in one stream memory. */
    public long floats() {
        return layers.stream().mapToLong(MemoryShape::floats).sum();
    }

    /** The first memory-format version that holds every layer of this layout. */
    public int formatVersion() {
        return layers.stream().mapToInt(l -> l.kind().formatVersion()).max().orElse(1);
    }

    /** Payload bytes of one stream memory stored as {@code dtype}. */
    public long payloadBytes(StorageDType dtype) {
        return floats() * dtype.bytes();
    }

    /** A memory of this layout that has seen nothing. */
    public StreamMemory newMemory(ModelFingerprint fingerprint) {
        LayerMemory[] out = new LayerMemory[layers.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = layers.get(i).kind().zeros(layers.get(i));
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
            MemoryShape layer = layers.get(i);
            if (!layer.kind().fits(layer, lm)) {
                return java.util.Optional.of("layer " + i + " is a " + lm.getClass().getSimpleName()
                        + " of other sizes than the model's " + layer + " layer");
            }
        }
        return java.util.Optional.empty();
    }

    @Override
    public String toString() {
        return layers.toString();
    }
}
