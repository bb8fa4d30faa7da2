package dev.gdn.kernels.layers.attention;

import dev.gdn.kernels.model.LayerMemory;
import java.util.Arrays;

/**
 * Memory of a sliding-window attention layer for one stream: a ring buffer of the last W keys and
 * values and the number of positions seen.
 *
 * <ul>
 *   <li>{@code keys, values: [W, Hkv * D]}; position p lives in slot {@code p mod W}. Keys are stored
 *       <em>unrotated</em>: RoPE is applied at attention time with positions relative to the window,
 *       so an unbounded stream never loses fp32 precision to large angles.</li>
 *   <li>{@code position}: tokens this layer has seen (the absolute position of the next token)</li>
 * </ul>
 */
public final class AttentionLayerMemory implements LayerMemory {
    private final int window;
    private final int rowSize;
    private final float[] keys;
    private final float[] values;
    private long position;

    public AttentionLayerMemory(int window, int rowSize, float[] keys, float[] values, long position) {
        if (keys.length != window * rowSize || values.length != window * rowSize) {
            throw new IllegalArgumentException("keys/values must be [" + window + ", " + rowSize + "], got "
                    + keys.length + " and " + values.length + " floats");
        }
        if (position < 0) {
            throw new IllegalArgumentException("position must be >= 0, got " + position);
        }
        this.window = window;
        this.rowSize = rowSize;
        this.keys = keys;
        this.values = values;
        this.position = position;
    }

    public static AttentionLayerMemory zeros(int window, int rowSize) {
        return new AttentionLayerMemory(window, rowSize, new float[window * rowSize], new float[window * rowSize], 0);
    }

    public int window() {
        return window;
    }

    public int rowSize() {
        return rowSize;
    }

    public float[] keys() {
        return keys;
    }

    public float[] values() {
        return values;
    }

    @Override
    public long position() {
        return position;
    }

    /** Number of valid entries: min(position, W). */
    public int cachedCount() {
        return (int) Math.min(position, window);
    }

    /** Ring slot of the i-th cached entry, oldest first (i in [0, cachedCount)). */
    public int slotOfCached(int i) {
        long p = position - cachedCount() + i;
        return (int) (p % window);
    }

    /** Appends one key/value row taken from {@code k, v} at the given offsets. */
    void append(float[] k, int ko, float[] v, int vo) {
        int slot = (int) (position % window);
        System.arraycopy(k, ko, keys, slot * rowSize, rowSize);
        System.arraycopy(v, vo, values, slot * rowSize, rowSize);
        position++;
    }

    /**
     * Counts {@code tokens} more positions whose keys and values a forward engine has already written
     * into {@link #keys()} and {@link #values()} (position p in slot p mod W).
     *
     * @throws IllegalArgumentException when tokens &lt; 0
     */
    @Override
    public void advancePosition(long tokens) {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
        }
        position += tokens;
    }

    @Override
    public dev.gdn.kernels.layers.LayerKind kind() {
        return dev.gdn.kernels.layers.LayerKinds.ATTENTION;
    }

    /** {@code [keys, values]}. */
    @Override
    public float[][] parts() {
        return new float[][] {keys, values};
    }

    @Override
    public AttentionLayerMemory copy() {
        return new AttentionLayerMemory(window, rowSize, keys.clone(), values.clone(), position);
    }

    @Override
    public void reset() {
        Arrays.fill(keys, 0f);
        Arrays.fill(values, 0f);
        position = 0;
    }

    @Override
    public boolean isFinite() {
        return LayerMemory.finite(keys, values);
    }

    @Override
    public long payloadBytes() {
        return 4L * (keys.length + values.length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AttentionLayerMemory a && window == a.window && rowSize == a.rowSize
                && position == a.position && Arrays.equals(keys, a.keys) && Arrays.equals(values, a.values);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(keys) + Long.hashCode(position);
    }
}
