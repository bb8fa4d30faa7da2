package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Backend choice on a machine without CUDA (the GPU side is in {@link CudaForwardTest}). */
class BackendsTest {
    private final GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model("gdn-tiny"), CpuKernels.fast());

    @Test
    void cpuIsTheModelAsIs() {
        assertThat(Backends.apply(cpu, "cpu", MatmulPrecision.FP32, s -> { })).isSameAs(cpu);
        assertThat(cpu.backendName()).isEqualTo("cpu");
    }

    @Test
    void anUnknownBackendIsNamed() {
        assertThatThrownBy(() -> Backends.apply(cpu, "tpu", MatmulPrecision.FP32, s -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'tpu'").hasMessageContaining("cuda");
        assertThatThrownBy(() -> MatmulPrecision.parse("fp8")).hasMessageContaining("'fp8'").hasMessageContaining("bf16");
        assertThatThrownBy(() -> ChunkPrecision.parse("tf32")).hasMessageContaining("'tf32'")
                .hasMessageContaining("3xtf32");
    }

    @Test
    void precisionsParseFromTheirLabels() {
        for (MatmulPrecision p : MatmulPrecision.values()) {
            assertThat(MatmulPrecision.parse(" " + p.label().toUpperCase() + " ")).isSameAs(p);
        }
        for (ChunkPrecision p : ChunkPrecision.values()) {
            assertThat(ChunkPrecision.parse(p.label())).isSameAs(p);
        }
        assertThat(MatmulPrecision.parse("bf16-weights")).isSameAs(MatmulPrecision.BF16_WEIGHTS);
        assertThat(ChunkPrecision.parse("3xTF32")).isSameAs(ChunkPrecision.TF32X3);
        for (StatePrecision p : StatePrecision.values()) {
            assertThat(StatePrecision.parse(p.label())).isSameAs(p);
        }
        assertThatThrownBy(() -> StatePrecision.parse("fp16")).hasMessageContaining("'fp16'")
                .hasMessageContaining("fp32, bf16");
    }

    @Test
    void withoutCudaAutoFallsBackWithOneInfoLineAndForcedCudaIsAnError() {
        assumeFalse(CudaProbe.available(), "this machine has CUDA: CudaForwardTest covers it");
        List<String> info = new ArrayList<>();
        assertThat(Backends.apply(cpu, "auto", MatmulPrecision.BF16, info::add)).isSameAs(cpu);
        assertThat(info).singleElement().asString().startsWith("backend auto: using the CPU (")
                .contains(CudaProbe.unavailableReason().orElseThrow());
        assertThatThrownBy(() -> Backends.apply(cpu, "cuda", MatmulPrecision.FP32, s -> { }))
                .isInstanceOf(CudaUnavailableException.class)
                .hasMessage(CudaProbe.unavailableReason().orElseThrow());
    }
}
