package dev.gdn.kernels.model;

/**
 * Everything a stream carries between events: one {@link LayerMemory} per layer, the number of
 * tokens consumed and the fingerprint of the model that computed it (a memory is meaningless under
 * another model). Mutable: a forward pass advances it in place.
 *
 * <p>Two things its owner may attach, kept and persisted with it: the digest of the stream it belongs
 * to ({@link #bindTo}), so that a memory found under another stream's key is recognised, and the final
 * hidden state after the stream's last token ({@link #lastHidden}, {@code [D]}), which scores the next
 * token's surprise.
 *
 * <p>A memory may be {@linkplain #arriving arriving}: its layers are still being copied (from a GPU, say)
 * while its owner already holds it; every read of its layers waits for them.
 */
public final class StreamMemory {
    private volatile LayerMemory[] layers;
    private final int layerCount;
    private volatile java.util.concurrent.CompletableFuture<LayerMemory[]> arriving;
    private final ModelFingerprint fingerprint;
    private long tokensConsumed;
    private boolean bound;
    private long streamDigest;
    private float[] lastHidden;

    /**
     * @throws IllegalArgumentException when tokensConsumed &lt; 0
     */
    public StreamMemory(LayerMemory[] layers, long tokensConsumed, ModelFingerprint fingerprint) {
        if (tokensConsumed < 0) {
            throw new IllegalArgumentException("tokensConsumed must be >= 0, got " + tokensConsumed);
        }
        this.layers = layers.clone();
        this.layerCount = layers.length;
        this.tokensConsumed = tokensConsumed;
        this.fingerprint = java.util.Objects.requireNonNull(fingerprint, "fingerprint");
    }

    private StreamMemory(int layerCount, java.util.concurrent.CompletableFuture<LayerMemory[]> layers,
            long tokensConsumed, ModelFingerprint fingerprint) {
        if (tokensConsumed < 0) {
            throw new IllegalArgumentException("tokensConsumed must be >= 0, got " + tokensConsumed);
        }
        this.layerCount = layerCount;
        this.arriving = layers;
        this.tokensConsumed = tokensConsumed;
        this.fingerprint = java.util.Objects.requireNonNull(fingerprint, "fingerprint");
    }

    /**
     * A memory whose layers are still arriving: {@code layers} completes with them ({@code layerCount} of
     * them). Everything else (tokens, binding, last hidden state) is set now; a read of its layers waits
     * for them, and fails with the copy's own error if the copy failed.
     */
    public static StreamMemory arriving(int layerCount, java.util.concurrent.CompletableFuture<LayerMemory[]> layers,
            long tokensConsumed, ModelFingerprint fingerprint) {
        return new StreamMemory(layerCount, layers, tokensConsumed, fingerprint);
    }

    /** Whether this memory's layers are here (not still arriving). */
    public boolean isComplete() {
        return layers != null;
    }

    /** The layers, waiting for them while they arrive. */
    private LayerMemory[] layers() {
        LayerMemory[] l = layers;
        if (l != null) {
            return l;
        }
        synchronized (this) {
            if (layers == null) {
                try {
                    LayerMemory[] got = arriving.join();
                    if (got.length != layerCount) {
                        throw new IllegalStateException("an arriving memory got " + got.length + " layers, expected "
                                + layerCount);
                    }
                    layers = got;
                    arriving = null;
                } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
                    Throwable cause = e.getCause() == null ? e : e.getCause();
                    throw new IllegalStateException("the memory's layers never arrived: " + cause.getMessage(), cause);
                }
            }
            return layers;
        }
    }
    /** The model that computed this memory. */
    public ModelFingerprint fingerprint() {
        return fingerprint;
    }

    public int layerCount() {
        return layerCount;
    }

    public LayerMemory layer(int i) {
        return layers()[i];
    }

    public long tokensConsumed() {
        return tokensConsumed;
    }

    /** Binds this memory to the stream with this digest (see the owner's digest of a stream id). */
    public void bindTo(long digest) {
        this.bound = true;
        this.streamDigest = digest;
    }

    /** Whether {@link #bindTo} was called (memories of older formats are not bound). */
    public boolean isBound() {
        return bound;
    }

    /** The digest of the stream this memory belongs to; meaningful when {@link #isBound()}. */
    public long streamDigest() {
        return streamDigest;
    }

    /** The final hidden state after the last token, {@code [D]}, or null (none yet, or after a reset). */
    public float[] lastHidden() {
        return lastHidden;
    }

    /** Sets the final hidden state after the last token ({@code [D]}, kept as given), or null. */
    public void setLastHidden(float[] hidden) {
        this.lastHidden = hidden;
    }

    /**
     * Sets the tokens consumed (for memories advanced elsewhere, such as on a GPU).
     *
     * @throws IllegalArgumentException when {@code n} &lt; 0
     */
    public void setTokensConsumed(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("tokensConsumed must be >= 0, got " + n);
        }
        tokensConsumed = n;
    }

    void advance(int tokens) {
        tokensConsumed += tokens;
    }

    /** A deep copy. */
    public StreamMemory copy() {
        LayerMemory[] from = layers();
        LayerMemory[] c = new LayerMemory[from.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = from[i].copy();
        }
        StreamMemory m = new StreamMemory(c, tokensConsumed, fingerprint);
        m.bound = bound;
        m.streamDigest = streamDigest;
        m.lastHidden = lastHidden == null ? null : lastHidden.clone();
        return m;
    }

    /** Forgets everything: the memory of a stream that has seen nothing. */
    public void reset() {
        for (LayerMemory l : layers()) {
            l.reset();
        }
        tokensConsumed = 0;
        lastHidden = null;
    }

    /** Whether every layer's floats and the last hidden state are finite (no NaN, no infinity). */
    public boolean isFinite() {
        for (LayerMemory l : layers()) {
            if (!l.isFinite()) {
                return false;
            }
        }
        return LayerMemory.finite(lastHidden);
    }

    /** Bytes of the float payload of all layers. */
    public long payloadBytes() {
        long n = 0;
        for (LayerMemory l : layers()) {
            n += l.payloadBytes();
        }
        return n;
    }

    /** Value equality: same fingerprint, tokens, binding, last hidden state and every float bit for bit. */
    @Override
    public boolean equals(Object o) {
        return o instanceof StreamMemory m && tokensConsumed == m.tokensConsumed && fingerprint.equals(m.fingerprint)
                && bound == m.bound && streamDigest == m.streamDigest && java.util.Arrays.equals(lastHidden, m.lastHidden)
                && java.util.Arrays.equals(layers(), m.layers());
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(fingerprint, tokensConsumed, java.util.Arrays.hashCode(layers()));
    }

    @Override
    public String toString() {
        return "StreamMemory[tokens=" + tokensConsumed + ", model=" + fingerprint + ", layers=" + layerCount + (isComplete() ? "" : ", arriving") + "]";
    }
}
