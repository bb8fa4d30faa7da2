package dev.gdn.kernels.cuda;

/**
 * The token mixer of one layer on the GPU, one class per layer type (Gated DeltaNet, sliding-window
 * attention, Mamba2), each the CUDA form of the CPU's mixer of the same type: its weights on the device
 * and its part of a pass. The engine iterates over these; the memory layout each reads and advances is
 * the pool's (see {@link CudaMemoryPool}), the same per-stream layout as the host's layer memory.
 */
sealed interface CudaTokenMixer permits CudaDeltaNetMixer, CudaAttentionMixer, CudaMamba2Mixer {

    /**
     * {@code y = mixer(x)}: x, y {@code [rows, D]} device arrays; the memories of layer {@code layer} in
     * the pass's pool advance in place. Device work only (it may be captured into a CUDA graph).
     */
    void mix(CudaPass pass, int layer, long x, long y);
}
