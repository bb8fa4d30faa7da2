package dev.gdn.kernels.model;

/** The part of a stream's memory that one layer keeps: a class of the layer kind's package. */
public interface LayerMemory {

    /** The kind of layer this memory belongs to. */
    dev.gdn.kernels.layers.LayerKind kind();

    /**
     * The memory's arrays in its kind's order (the same arrays, not copies): what is stored, copied to
     * a device and back, part by part. The first is the layer's main state.
     */
    float[][] parts();

    /** Tokens the layer has seen, where its kind keeps a position ({@link dev.gdn.kernels.layers.LayerKind#positioned}); else 0. */
    default long position() {
        return 0;
    }

    /**
     * Moves the position {@code tokens} on (a memory whose kind keeps one; where an engine advanced the
     * memory's parts itself, e.g. on the GPU).
     *
     * @throws UnsupportedOperationException for a kind that keeps no position
     */
    default void advancePosition(long tokens) {
        throw new UnsupportedOperationException(kind().name() + " memories keep no position");
    }

    /** A deep copy. */
    LayerMemory copy();

    /** Back to the state of a stream that has seen nothing. */
    void reset();

    /** Bytes of the float payload. */
    long payloadBytes();

    /** Whether every float of the payload is finite (no NaN, no infinity). */
    boolean isFinite();

    /** Whether every value of every array is finite (a null array has none that is not). */
    static boolean finite(float[]... arrays) {
        dev.gdn.kernels.cpu.VectorMath math = dev.gdn.kernels.cpu.VectorMath.best();
        for (float[] a : arrays) {
            if (a != null && !math.allFinite(a)) {
                return false;
            }
        }
        return true;
    }
}
