package dev.gdn.kernels.model;

/**
 * Everything a stream carries between events: one {@link LayerMemory} per layer and the number of
 * tokens consumed. Mutable: a forward pass advances it in place.
 */
public final class StreamMemory {
    private final LayerMemory[] layers;
    private long tokensConsumed;

    public StreamMemory(LayerMemory[] layers, long tokensConsumed) {
        this.layers = layers;
        this.tokensConsumed = tokensConsumed;
    }

    public int layerCount() {
        return layers.length;
    }

    public LayerMemory layer(int i) {
        return layers[i];
    }

    public long tokensConsumed() {
        return tokensConsumed;
    }

    void advance(int tokens) {
        tokensConsumed += tokens;
    }

    /** A deep copy. */
    public StreamMemory copy() {
        LayerMemory[] c = new LayerMemory[layers.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = layers[i].copy();
        }
        return new StreamMemory(c, tokensConsumed);
    }

    /** Forgets everything: the memory of a stream that has seen nothing. */
    public void reset() {
        for (LayerMemory l : layers) {
            l.reset();
        }
        tokensConsumed = 0;
    }

    /** Bytes of the float payload of all layers. */
    public long payloadBytes() {
        long n = 0;
        for (LayerMemory l : layers) {
            n += l.payloadBytes();
        }
        return n;
    }
}
