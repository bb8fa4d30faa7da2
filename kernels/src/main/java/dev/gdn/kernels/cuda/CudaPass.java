package dev.gdn.kernels.cuda;

import dev.gdn.kernels.config.ModelConfig;

/**
 * One pass of the engine as the layers see it: the batch's shape and device arrays, the pool holding
 * the streams' memories, and the engine's shared services (element-wise kernels, scratch, products).
 *
 * @param streams    N
 * @param rows       tokens of the pass
 * @param longestRun the longest stream's tokens
 * @param slots      device {@code [N]} int: each stream's slot in {@code pool}
 * @param offsets    device {@code [N + 1]} int: stream row offsets
 * @param positions  per layer, a device {@code [3, N]} int array of attention ring positions (0 for other layers)
 */
public record CudaPass(ModelConfig config, CudaModelOps ops, DeviceScratch scratch, CudaProducts products,
        CudaMemoryPool pool, int streams, int rows, int longestRun, long slots, long offsets, long[] positions) {

    /** Whether every stream of the pass brings exactly one token (the decode step). */
    public boolean oneTokenEach() {
        return rows == streams;
    }
}
