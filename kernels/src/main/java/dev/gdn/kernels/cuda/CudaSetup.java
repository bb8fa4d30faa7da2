package dev.gdn.kernels.cuda;

import dev.gdn.kernels.config.ModelConfig;

/**
 * What a layer kind's CUDA kernels are built from in one engine ({@link CudaLayer#compile}): the device,
 * the engine's products and element-wise kernels, the model's config and the precisions the engine runs.
 */
public record CudaSetup(CudaDevice device, CudaProducts products, CudaModelOps ops, ModelConfig config,
        ChunkPrecision chunkPrecision, StatePrecision statePrecision) {
}
