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
