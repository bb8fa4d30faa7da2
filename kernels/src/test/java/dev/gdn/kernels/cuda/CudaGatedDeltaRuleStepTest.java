package dev.gdn.kernels.cuda;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gdn.kernels.deltarule.DeltaRuleShape;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The CUDA one-token step against the double-precision reference, on the device. */
@Tag("gpu")
@Timeout(300)
class CudaGatedDeltaRuleStepTest {

    @BeforeAll
    static void requireGpu() {
        CudaProbe.unavailableReason().ifPresent(r -> System.out.println("skipping GPU tests: CUDA unavailable: " + r));
        assumeTrue(CudaProbe.available(), () -> "CUDA unavailable: " + CudaProbe.unavailableReason().orElse(""));
    }

    static void check(DeltaRuleShape shape, int streams) {
        try (CudaDevice d = new CudaDevice(0)) {
            CudaStepHarness h = new CudaStepHarness(shape, streams, 17);
            float[][] ref = h.reference();
            float[][] got = h.gpu(d, new CudaGatedDeltaRuleStep(d, shape));
            assertClose(shape + " o", got[0], ref[0], 1e-5);
            assertClose(shape + " state pool", got[1], ref[1], 1e-5);
        }
    }

    @Test
    void awkwardShapesWithGroupedValueHeadsAndAPermutedPool() {
        check(new DeltaRuleShape(2, 4, 64, 48), 5);
        check(new DeltaRuleShape(1, 1, 100, 60), 3);
    }

    @Test
    void flaBenchmarkShapes() {
        check(new DeltaRuleShape(16, 16, 128, 128), 8);
        check(new DeltaRuleShape(6, 6, 256, 512), 4);
    }

    @Test
    void aStreamsResultIsBitwiseTheSameAloneAndInABatch() {
        DeltaRuleShape shape = new DeltaRuleShape(4, 4, 128, 128);
        try (CudaDevice d = new CudaDevice(0)) {
            CudaGatedDeltaRuleStep step = new CudaGatedDeltaRuleStep(d, shape);
            CudaStepHarness batch = new CudaStepHarness(shape, 16, 5);
            float[][] all = batch.gpu(d, step);
            // stream 0 alone: same inputs, same slot contents
            CudaStepHarness alone = new CudaStepHarness(shape, 16, 5);
            float[][] one = alone.gpu(d, step);
            assertThat(one[0]).containsExactly(all[0]);
            assertThat(one[1]).containsExactly(all[1]);
        }
    }
}
