package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.RowScores;
import dev.gdn.kernels.testing.Fixtures;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Scoring on the GPU (the LM head and the per-row reductions on the device, only the scores copied
 * back) against the CPU's reductions of the same GPU logits (exact top-k ids, log-sum-exp within
 * 1e-12) and against the CPU model (within the fp32 tolerance).
 */
@Tag("gpu")
@Timeout(600)
class CudaRowScoresTest {
    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    static java.util.List<String> models() {
        return Fixtures.modelNames();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void deviceScoresEqualTheCpusReductionOfTheSameLogits(String name) {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model(name), CpuKernels.fast());
        GatedDeltaNetModel gpu = cpu.withEngine(new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, 4096));
        try {
            int d = cpu.config().hiddenSize();
            int vocab = cpu.config().vocabSize();
            int rows = 4100; // more than one block of the device's LM head
            Random r = new Random(3);
            float[] hidden = new float[(rows + 2) * d];
            for (int i = 0; i < hidden.length; i++) {
                hidden[i] = (float) r.nextGaussian();
            }
            int[] targets = new int[rows];
            boolean[] want = new boolean[rows];
            for (int i = 0; i < rows; i++) {
                targets[i] = i % 7 == 0 ? -1 : r.nextInt(vocab);
                want[i] = i % 3 == 0;
            }
            int k = Math.min(5, vocab);
            RowScores onGpu = gpu.scoreRows(hidden, 2, rows, targets, want, k);
            RowScores ofGpuLogits = RowScores.of(gpu.logits(hidden, 2, rows), rows, vocab, targets, want, k);
            RowScores onCpu = cpu.scoreRows(hidden, 2, rows, targets, want, k);
            double worstLse = 0;
            for (int i = 0; i < rows; i++) {
                assertThat(onGpu.lse()[i]).as("row %d lse", i).isCloseTo(ofGpuLogits.lse()[i],
                        org.assertj.core.data.Offset.offset(1e-12 * Math.max(1, Math.abs(ofGpuLogits.lse()[i]))));
                assertThat(onGpu.target()[i]).as("row %d target", i).isEqualTo(ofGpuLogits.target()[i]);
                worstLse = Math.max(worstLse, Math.abs(onGpu.lse()[i] - onCpu.lse()[i]) / Math.max(1, Math.abs(onCpu.lse()[i])));
                if (want[i]) {
                    for (int j = 0; j < k; j++) {
                        assertThat(onGpu.topIds()[i * k + j]).as("row %d top %d", i, j)
                                .isEqualTo(ofGpuLogits.topIds()[i * k + j]);
                        assertThat(onGpu.topLogits()[i * k + j]).isEqualTo(ofGpuLogits.topLogits()[i * k + j]);
                    }
                }
            }
            assertThat(worstLse).as("log-sum-exp against the CPU model").isLessThan(1e-5);
            System.out.printf("%s: %d rows scored on the device; lse vs CPU model worst %.2e%n", name, rows, worstLse);
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }
}
