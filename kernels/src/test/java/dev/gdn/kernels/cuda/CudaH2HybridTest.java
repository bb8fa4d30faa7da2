package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.parity.ModelParity;
import dev.gdn.kernels.parity.ParityReport;
import dev.gdn.kernels.parity.RelativeError;
import dev.gdn.kernels.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The H2 hybrid (Mamba2 + Gated DeltaNet + sliding-window attention) on the GPU against FLA's own layers:
 * logits within 1e-4 and every layer's final memory (Mamba2 SSM state and convolution cache included),
 * in one pass and in pieces of any size; one-token pieces run as CUDA graphs, and the Gated DeltaNet
 * layers take their chunkwise kernel for runs from 32 tokens.
 */
@Tag("gpu")
@Timeout(600)
class CudaH2HybridTest {
    private static final Path TINY = Fixtures.h2Model("h2-tiny");

    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    @ParameterizedTest(name = "pieces {0}")
    @ValueSource(strings = {"100", "40,1,1,30,28", "50,50", "1,99", "7,13,64,16", "31,1,32,36"})
    void h2TinyMatchesFlaOnTheGpuForAnySplit(String split) {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(TINY, CpuKernels.fast());
        CudaForward engine = new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, 4096);
        GatedDeltaNetModel gpu = cpu.withEngine(engine);
        try {
            int[] pieces = java.util.Arrays.stream(split.split(",")).mapToInt(Integer::parseInt).toArray();
            ParityReport r = ModelParity.check(gpu, TINY.resolve("expected.safetensors"), pieces, 1e-4);
            r.lines().forEach(l -> System.out.println("h2-tiny " + engine.name() + " " + split + " " + l));
            // logits twice and, per pass, 2 Mamba2 x 2 + 2 GDN x 4 + 2 attention x 2 memories
            assertThat(r.lines()).hasSize(2 + 2 * (4 + 8 + 4));
            assertThat(r.lines()).allSatisfy(l -> assertThat(l.pass()).as(l.toString()).isTrue());
        } finally {
            engine.close();
        }
    }

    /**
     * A stream's logits alone and beside 1, 7 and 40 other streams: the Mamba2 kernels are bitwise
     * invariant (CudaMamba2MixerTest); cuBLAS picks its algorithm by row count, so the whole model is
     * held within 1e-5 and the measured difference printed.
     */
    @Test
    void aStreamsResultsDoNotDependOnItsBatch() {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(TINY, CpuKernels.fast());
        CudaForward engine = new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, 4096);
        GatedDeltaNetModel gpu = cpu.withEngine(engine);
        try {
            Random rnd = new Random(3);
            int[] mine = rnd.ints(45, 0, cpu.config().vocabSize()).toArray();
            float[] alone = gpu.forward(List.of(new StreamInput(gpu.newMemory(), mine))).logits();
            for (int others : new int[] {1, 7, 40}) {
                List<StreamInput> batch = new ArrayList<>();
                for (int i = 0; i < others; i++) {
                    batch.add(new StreamInput(gpu.newMemory(), rnd.ints(1 + rnd.nextInt(70), 0,
                            cpu.config().vocabSize()).toArray()));
                }
                batch.add(others / 2, new StreamInput(gpu.newMemory(), mine));
                float[] inBatch = gpu.forward(batch).logitsOf(others / 2);
                double err = RelativeError.of(inBatch, alone).value();
                System.out.printf("h2-tiny batch invariance with %d other streams: %s (rel err %.2e)%n", others,
                        java.util.Arrays.equals(inBatch, alone) ? "bitwise equal" : "differs", err);
                assertThat(err).isLessThanOrEqualTo(1e-5);
            }
        } finally {
            engine.close();
        }
    }
}
