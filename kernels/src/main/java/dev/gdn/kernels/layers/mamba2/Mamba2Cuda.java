package dev.gdn.kernels.layers.mamba2;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.CudaLayer;
import dev.gdn.kernels.cuda.CudaSetup;
import dev.gdn.kernels.cuda.CudaTokenMixer;
import dev.gdn.kernels.cuda.StatePrecision;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MixerWeights;
import dev.gdn.kernels.cuda.KernelBuilds;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/** Mamba2 layers on the GPU: the kernels of {@code mamba2.cu} compiled for the model's shape, shared by its layers. */
final class Mamba2Cuda implements CudaLayer {

    @Override
    public Optional<String> unsupportedReason(ModelConfig c) {
        return CudaMamba2Mixer.unsupportedReason(Mamba2Config.of(c).orElseThrow());
    }

    /** The SSM state {@code [H, P, N]} and the convolution cache {@code [Kc - 1, C]}. */
    @Override
    public long[] partFloats(ModelConfig c, StatePrecision state) {
        Mamba2Config m = Mamba2Config.of(c).orElseThrow();
        return new long[] {m.stateFloats(), (m.convKernel() - 1L) * m.convDim()};
    }

    /** The H2 fixtures' Mamba2 shape and FLA's Mamba2 default (64-wide heads, 128 states). */
    @Override
    public List<KernelBuilds.Build> builds(int sharedPerSm) {
        return Stream.of(new Mamba2Config(Set.of(0), 4, 16, 16, 1, 4, true, 1e-5f),
                new Mamba2Config(Set.of(0), 24, 64, 128, 1, 4, true, 1e-5f))
                .map(m -> new KernelBuilds.Build(CudaMamba2Mixer.SOURCE, List.of(CudaMamba2Mixer.Kernels.options(m))))
                .toList();
    }

    @Override
    public Kernels compile(CudaSetup s) {
        CudaMamba2Mixer.Kernels k = CudaMamba2Mixer.Kernels.compile(s.device(), Mamba2Config.of(s.config()).orElseThrow());
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
