package dev.gdn.kernels.layers.mamba2;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.CudaLayer;
import dev.gdn.kernels.cuda.CudaSetup;
import dev.gdn.kernels.cuda.CudaTokenMixer;
import dev.gdn.kernels.cuda.StatePrecision;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MixerWeights;
import java.util.Optional;

/** Mamba2 layers on the GPU: the kernels of {@code mamba2.cu} compiled for the model's shape, shared by its layers. */
final class Mamba2Cuda implements CudaLayer {

    @Override
    public Optional<String> unsupportedReason(ModelConfig c) {
        return CudaMamba2Mixer.unsupportedReason(c.mamba2().orElseThrow());
    }

    /** The SSM state {@code [H, P, N]} and the convolution cache {@code [Kc - 1, C]}. */
    @Override
    public long[] partFloats(ModelConfig c, StatePrecision state) {
        Mamba2Config m = c.mamba2().orElseThrow();
        return new long[] {m.stateFloats(), (m.convKernel() - 1L) * m.convDim()};
    }

    @Override
    public Kernels compile(CudaSetup s) {
        CudaMamba2Mixer.Kernels k = CudaMamba2Mixer.Kernels.compile(s.device(), s.config().mamba2().orElseThrow());
        return new Kernels() {
            @Override
            public CudaTokenMixer mixer(MixerWeights w) {
                return new CudaMamba2Mixer(s.device(), s.products(), s.config(),
                        LayerKinds.MAMBA2.cast(w, Mamba2Weights.class), k);
            }

            @Override
            public void close() {
                k.args().close();
            }
        };
    }
}
