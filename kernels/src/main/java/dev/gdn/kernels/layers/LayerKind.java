package dev.gdn.kernels.layers;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.LayerMemory;
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

    /** The kind as people read it in {@code model info}, e.g. {@code sliding-window attention}. */
    String label();

    /**
     * Appends this kind's config block (when {@code c} has one) to the canonical text the model's
     * fingerprint hashes: every field that changes the math, in a fixed order.
     */
    default void appendConfig(ModelConfig c, StringBuilder sb) {
    }

    /** The {@code model_type} whose delta-rule layers are of this kind ({@code gated_deltanet}, {@code kda}), if any. */
    default java.util.Optional<dev.gdn.kernels.config.ModelType> modelType() {
        return java.util.Optional.empty();
    }

    /** Top-level config.json keys that hold this kind's block in any model type (e.g. {@code attn}). */
    default java.util.Set<String> configKeys() {
        return java.util.Set.of();
    }

    /**
     * This kind's block of a config.json (its keys read and checked, the sizes it makes checked against one
     * Java array), when the config has one; the shared sizes are read already.
     *
     * @param root      the whole config.json
     * @param modelType its {@code model_type}
     * @throws dev.gdn.kernels.config.ConfigException naming the key, the value and what is expected
     */
    default java.util.Optional<Object> parseBlock(com.fasterxml.jackson.databind.JsonNode root, String source,
            String modelType, int hidden, int layers) {
        return java.util.Optional.empty();
    }

    /** What {@code model info} says of this kind's block of {@code c} beyond the layer counts, if anything. */
    default java.util.Optional<String> describeBlock(ModelConfig c) {
        return java.util.Optional.empty();
    }

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

    /** The kind's CUDA form (its kernels and mixer, in the kind's package); empty where it has none yet. */
    default java.util.Optional<dev.gdn.kernels.cuda.CudaLayer> cuda() {
        return java.util.Optional.empty();
    }

    /** The kind's code in the stream-memory format (a byte; never reused for another kind). */
    int code();

    /** The first stream-memory format version that holds this kind. */
    int formatVersion();

    /** The shape of a stream's memory of a layer of this kind in a model of config {@code c}. */
    MemoryShape memoryShape(ModelConfig c);

    /** How many dimensions (ints) the kind's layer header holds in the memory format. */
    int headerDims();

    /** Whether the layer header also holds a position (a long: tokens seen, for a ring buffer). */
    default boolean positioned() {
        return false;
    }

    /** Floats of each part of a memory of shape {@code s}, in the order of {@link LayerMemory#parts}. */
    long[] partFloats(MemoryShape s);

    /** The shape as people read it, e.g. {@code deltanet[HV=4, K=64, V=128, conv=3x(256,256,512)]}. */
    String describe(MemoryShape s);

    /**
     * A memory of shape {@code s} from its parts (each of the length {@link #partFloats} says, taken as
     * they are) and its position ({@link #positioned}; 0 otherwise).
     */
    LayerMemory fromParts(MemoryShape s, float[][] parts, long position);

    /** A memory of shape {@code s} that has seen nothing. */
    default LayerMemory zeros(MemoryShape s) {
        long[] sizes = partFloats(s);
        float[][] parts = new float[sizes.length][];
        for (int i = 0; i < sizes.length; i++) {
            parts[i] = new float[Math.toIntExact(sizes[i])];
        }
        return fromParts(s, parts, 0);
    }

    /** Whether {@code m} is a memory of this kind with exactly shape {@code s}. */
    default boolean fits(MemoryShape s, LayerMemory m) {
        if (s.kind() != this || m.kind() != this) {
            return false;
        }
        float[][] parts = m.parts();
        long[] sizes = partFloats(s);
        if (parts.length != sizes.length) {
            return false;
        }
        for (int i = 0; i < sizes.length; i++) {
            if (parts[i].length != sizes[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Adds the memory's tensors to a safetensors export, named under {@code prefix} ({@code layers.i.}) as
     * docs/STATE.md lists them per kind.
     */
    void export(MemoryShape s, LayerMemory m, String prefix, dev.gdn.kernels.io.SafetensorsWriter w);

    /**
     * Compares the memories of layer {@code layer} of a batch (stream i's is {@code mems[i]}) with the states
     * a reference fixture holds for it ({@code state.layers.<layer>.*}, in FLA's cache layout), adding each
     * comparison to {@code fla}'s report; a state the fixture lacks is skipped.
     */
    void compareFlaStates(ModelConfig c, int layer, List<LayerMemory> mems, dev.gdn.kernels.parity.FlaStates fla);

    /** {@code x} (weights or a memory) as this kind's own {@code type}, or an error naming what it got. */
    default <T> T cast(Object x, Class<T> type) {
        if (!type.isInstance(x)) {
            throw new IllegalArgumentException("layer kind " + name() + " needs " + type.getSimpleName() + ", got "
                    + (x == null ? "null" : x.getClass().getSimpleName()));
        }
        return type.cast(x);
    }
}
