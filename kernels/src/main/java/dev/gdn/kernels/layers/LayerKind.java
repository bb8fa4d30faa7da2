package dev.gdn.kernels.layers;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.TokenMixer;
import java.util.List;

/**
 * One kind of token-mixing layer (Gated DeltaNet, sliding-window attention, Mamba2): everything the
 * model needs to know of a layer of this kind, kept in the kind's own package (its weights record, its
 * part of a stream's memory, its CPU mixer). The kinds are listed in {@link LayerKinds}; the model asks
 * the kind of each layer instead of testing for a concrete one.
 */
public interface LayerKind {

    /** The kind's name, as {@code model info} prints it. */
    String name();

    /** Whether layer {@code layer} of {@code c} is of this kind. */
    boolean owns(ModelConfig c, int layer);

    /**
     * The mixer weights of a layer of this kind from a checkpoint, each tensor checked against the shape
     * {@code c} implies.
     *
     * @param prefix the names' prefix, e.g. {@code model.layers.3.attn.}
     */
    MixerWeights load(WeightReader r, String prefix, ModelConfig c);

    /** Seeded random weights of a layer's shapes, drawn from {@code r} (for benchmarks of shapes no checkpoint ships). */
    MixerWeights random(ModelConfig c, RandomTensors r);

    /**
     * The weight arrays of {@code w} in checkpoint order, null where an optional tensor is absent (what
     * the model's fingerprint hashes).
     */
    List<float[]> tensors(MixerWeights w);

    /** The CPU mixer of a layer with weights {@code w}. */
    TokenMixer cpuMixer(ModelConfig c, MixerWeights w);

    /** {@code w} as this kind's weights record, or an error naming both kinds. */
    default <T extends MixerWeights> T weights(MixerWeights w, Class<T> type) {
        if (!type.isInstance(w)) {
            throw new IllegalArgumentException("layer kind " + name() + " needs " + type.getSimpleName() + ", got "
                    + (w == null ? "null" : w.getClass().getSimpleName()));
        }
        return type.cast(w);
    }
}
