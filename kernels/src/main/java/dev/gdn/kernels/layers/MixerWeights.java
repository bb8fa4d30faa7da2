package dev.gdn.kernels.layers;

/**
 * The weights of one block's token mixer: a record of its layer kind's package ({@link LayerKind}).
 */
public interface MixerWeights {
    /** The kind of layer these weights are for. */
    LayerKind kind();
}
