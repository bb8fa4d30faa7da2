package dev.gdn.kernels.cuda;

/**
 * The token mixer of one layer on the GPU, the CUDA form of its kind's CPU mixer (each kind's package
 * holds its own, made by the kind's {@link CudaLayer}): its weights on the device and its part of a pass.
 * The engine iterates over these; the memory layout each reads and advances is the pool's (see
 * {@link CudaMemoryPool}), the same per-stream layout as the host's layer memory of its kind.
 */
public interface CudaTokenMixer {

    /**
     * {@code y = mixer(x)}: x, y {@code [rows, D]} device arrays; the memories of layer {@code layer} in
     * the pass's pool advance in place. Device work only (it may be captured into a CUDA graph).
     */
    void mix(CudaPass pass, int layer, long x, long y);

    /**
     * For a mixer over a ring of its last tokens (its kind {@link dev.gdn.kernels.layers.LayerKind#positioned}):
     * the ring's length, so that the engine passes each stream's ring positions in {@link CudaPass#positions};
     * 0 for every other mixer.
     */
    default int ringWindow() {
        return 0;
    }
}
