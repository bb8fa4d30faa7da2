package dev.gdn.kernels.model;

/**
 * Everything a stream carries between events: one {@link LayerMemory} per layer, the number of
 * tokens consumed and the fingerprint of the model that computed it (a memory is meaningless under
 * another model). Mutable: a forward pass advances it in place.
 */
public final class StreamMemory {
    private final LayerMemory[] layers;
    private final ModelFingerprint fingerprint;
    private long tokensConsumed;

    /**
     * @throws IllegalArgumentException when tokensConsumed &lt; 0
     */
    public StreamMemory(LayerMemory[] layers, long tokensConsumed, ModelFingerprint fingerprint) {
        if (tokensConsumed < 0) {
            throw new IllegalArgumentException("tokensConsumed must be >= 0, got " + tokensConsumed);
        }
        this.layers = layers.clone();
        this.tokensConsumed = tokensConsumed;
        this.fingerprint = java.util.Objects.requireNonNull(fingerprint, "fingerprint");
    }

    /** The model that computed this memory. */
    public ModelFingerprint fingerprint() {
        return fingerprint;
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
        return new StreamMemory(c, tokensConsumed, fingerprint);
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

    /** Value equality: same fingerprint, tokens and every float bit for bit. */
    @Override
    public boolean equals(Object o) {
        return o instanceof StreamMemory m && tokensConsumed == m.tokensConsumed && fingerprint.equals(m.fingerprint)
                && java.util.Arrays.equals(layers, m.layers);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(fingerprint, tokensConsumed, java.util.Arrays.hashCode(layers));
    }

    @Override
    public String toString() {
        return "StreamMemory[tokens=" + tokensConsumed + ", model=" + fingerprint + ", layers=" + layers.length + "]";
    }
}
