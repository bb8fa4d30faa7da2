package dev.gdn.kernels.model;

/** The part of a stream's memory that one layer keeps. */
public sealed interface LayerMemory permits DeltaNetLayerMemory, AttentionLayerMemory, Mamba2LayerMemory {

    /** A deep copy. */
    LayerMemory copy();

    /** Back to the state of a stream that has seen nothing. */
    void reset();

    /** Bytes of the float payload. */
    long payloadBytes();
}
