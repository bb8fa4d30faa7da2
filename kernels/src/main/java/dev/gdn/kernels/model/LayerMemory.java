package dev.gdn.kernels.model;

/** The part of a stream's memory that one layer keeps. */
public sealed interface LayerMemory permits DeltaNetLayerMemory, AttentionLayerMemory, Mamba2LayerMemory {

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
        for (float[] a : arrays) {
            for (float v : a == null ? new float[0] : a) {
                if (!Float.isFinite(v)) {
                    return false;
                }
            }
        }
        return true;
    }
}
