package dev.gdn.kernels.model;

import java.util.List;

/**
 * The token mixer of one layer on the CPU, one class per layer kind (in the kind's package, made by its
 * {@link dev.gdn.kernels.layers.LayerKind}): its weights, the layout of its part of a stream's memory, and its forward pass.
 * The model iterates over these; nothing outside a mixer casts a layer's memory.
 */
public interface TokenMixer {

    /** This layer's memory of a stream that has seen nothing. */
    LayerMemory newMemory();

    /** Whether {@code m} has this layer's memory layout. */
    boolean fits(LayerMemory m);

    /**
     * @param x       {@code [rows, D]}, the normed block input
     * @param offsets stream row offsets ({@code [N + 1]})
     * @param batch   the streams; each one's memory of layer {@code layer} advances in place
     * @return {@code [rows, D]} in the first {@code rows * D} floats; may be a {@link dev.gdn.kernels.cpu.Scratch}
     *         buffer of the calling thread (longer, and valid only until this thread's next forward)
     */
    float[] forward(CpuKernels cpu, float[] x, int[] offsets, List<StreamInput> batch, int layer);

    /** Each stream's memory of {@code layer}, as the type the mixer keeps. */
    static <T extends LayerMemory> List<T> memories(List<StreamInput> batch, int layer, Class<T> type) {
        List<T> out = new java.util.ArrayList<>(batch.size());
        for (StreamInput in : batch) {
            out.add(type.cast(in.memory().layer(layer)));
        }
        return out;
    }
}
