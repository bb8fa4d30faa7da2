package dev.gdn.kernels.cuda;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.MixerWeights;
import java.util.Optional;

/**
 * What the CUDA engine needs of one layer kind ({@link dev.gdn.kernels.layers.LayerKind#cuda}): whether its
 * kernels take a model's shapes, the device room of a stream's memory of one of its layers, and its mixers.
 * The engine asks each kind of its model's layers and never tests for a concrete one.
 */
public interface CudaLayer {

    /** Why this kind's kernels cannot run the layers of {@code c}, if they cannot. */
    Optional<String> unsupportedReason(ModelConfig c);

    /**
     * Per part of a stream's memory of one layer (the order of the kind's
     * {@link dev.gdn.kernels.model.LayerMemory#parts}): the device room of a slot in 4-byte units, with the
     * delta-rule states held in {@code state} precision (a bf16 state takes half the room).
     */
    long[] partFloats(ModelConfig c, StatePrecision state);

    /** Whether part {@code part} is held in bf16 on the device under {@code state} (read and written in fp32 on the host). */
    default boolean bf16Part(int part, StatePrecision state) {
        return false;
    }

    /**
     * The compile units of the kind's own kernel sources, in every set of definitions its kernels can be
     * built with (what {@link KernelBuilds} compiles with nvcc, no GPU needed), for a device with
     * {@code sharedPerSm} bytes of shared memory a multiprocessor.
     */
    default java.util.List<KernelBuilds.Build> builds(int sharedPerSm) {
        return java.util.List.of();
    }

    /** Compiles the kind's kernels for an engine (once; its layers share them). */
    Kernels compile(CudaSetup setup);

    /** The compiled kernels of a kind in one engine: they make the mixer of each of its layers. */
    interface Kernels extends AutoCloseable {

        /** The mixer of a layer with weights {@code w} (uploaded to the device). */
        CudaTokenMixer mixer(MixerWeights w);

        /** What the engine's name should say of these kernels (e.g. a chunkwise precision); empty for nothing. */
        default String describe() {
            return "";
        }

        @Override
        default void close() {
        }
    }
}
