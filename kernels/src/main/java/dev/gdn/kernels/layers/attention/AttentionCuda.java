package dev.gdn.kernels.layers.attention;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.CudaLayer;
import dev.gdn.kernels.cuda.CudaSetup;
import dev.gdn.kernels.cuda.CudaTokenMixer;
import dev.gdn.kernels.cuda.StatePrecision;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MixerWeights;
import java.util.Optional;

/** Sliding-window attention layers on the GPU (the window kernels of {@code model_ops.cu}). */
final class AttentionCuda implements CudaLayer {
    /** The longest window the CUDA kernel's shared memory takes. */
    static final int MAX_WINDOW = 8192;

    @Override
    public Optional<String> unsupportedReason(ModelConfig c) {
        AttentionConfig a = AttentionConfig.of(c).orElseThrow();
        return a.windowSize() > MAX_WINDOW ? Optional.of("attention window_size " + a.windowSize()
                + " is above " + MAX_WINDOW + ", the CUDA kernel's limit") : Optional.empty();
    }

    /** The key and value rings {@code [window, kv heads, head dim]}. */
    @Override
    public long[] partFloats(ModelConfig c, StatePrecision state) {
        AttentionConfig a = AttentionConfig.of(c).orElseThrow();
        long ring = (long) a.windowSize() * a.numKvHeads() * a.headDim();
        return new long[] {ring, ring};
    }

    @Override
    public Kernels compile(CudaSetup s) {
        return w -> new CudaAttentionMixer(s.device(), s.products(), s.config(),
                LayerKinds.ATTENTION.cast(w, AttentionWeights.class));
    }
}
