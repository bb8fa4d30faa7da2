package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.io.HalfFloats;
import dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.kernels.parity.RelativeError;
import dev.gdn.kernels.testing.Fixtures;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Gated DeltaNet states kept in bf16 on the GPU ({@link StatePrecision#BF16}): a memory goes in and comes
 * back as its bf16 rounding (states) and unchanged (caches); and the drift against fp32 states over
 * 10,000 tokens (events of 1-8 tokens, every 16th of 40-80 tokens so the chunkwise kernels run too)
 * stays within the bounds documented for bf16 storage.
 */
@Tag("gpu")
@Timeout(600)
class CudaBf16StateTest {
    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    @Test
    void aMemoryComesBackAsItsBf16RoundingAndItsCachesUnchanged() {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model("h1-swa"), CpuKernels.fast());
        GatedDeltaNetModel gpu = cpu.withEngine(new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32,
                ChunkPrecision.FP32, StatePrecision.BF16, 4096));
        try (ResidentStreams slots = gpu.residentStreams(4)) {
            StreamMemory m = cpu.newMemory();
            cpu.forward(List.of(new StreamInput(m, new Random(1).ints(50, 0, cpu.config().vocabSize()).toArray())),
                    false);
            slots.load(2, m);
            StreamMemory back = slots.store(2);
            int checked = 0;
            for (int l = 0; l < cpu.config().numLayers(); l++) {
                if (m.layer(l) instanceof DeltaNetLayerMemory d) {
                    DeltaNetLayerMemory b = (DeltaNetLayerMemory) back.layer(l);
                    float[] rounded = d.state().clone();
                    for (int i = 0; i < rounded.length; i++) {
                        rounded[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(rounded[i]));
                    }
                    assertThat(b.state()).as("layer %d state", l).containsExactly(rounded);
                    assertThat(b.convQ()).containsExactly(d.convQ());
                    assertThat(b.convV()).containsExactly(d.convV());
                    checked++;
                } else {
                    assertThat(back.layer(l)).as("layer %d", l).isEqualTo(m.layer(l));
                }
            }
            assertThat(checked).isPositive();
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }

    @ParameterizedTest(name = "chunkwise rule {0}")
    @EnumSource(value = ChunkPrecision.class, names = {"FP32", "BF16"})
    void driftOverTenThousandTokensStaysWithinTheBf16StorageBounds(ChunkPrecision chunk) {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model("gdn-tiny"), CpuKernels.fast());
        GatedDeltaNetModel exact = cpu.withEngine(new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, chunk,
                StatePrecision.FP32, 4096));
        GatedDeltaNetModel half = cpu.withEngine(new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, chunk,
                StatePrecision.BF16, 4096));
        try {
            StreamMemory a = exact.newMemory();
            StreamMemory b = half.newMemory();
            Random r = new Random(42);
            int vocab = cpu.config().vocabSize();
            int tokens = 0;
            int events = 0;
            int agree = 0;
            double worst = 0;
            double sumLast = 0;
            int countLast = 0;
            while (tokens < 10_000) {
                int n = Math.min(events % 16 == 15 ? 40 + r.nextInt(41) : 1 + r.nextInt(8), 10_000 - tokens);
                int[] t = r.ints(n, 0, vocab).toArray();
                float[] la = exact.forward(List.of(new StreamInput(a, t))).logits();
                float[] lb = half.forward(List.of(new StreamInput(b, t.clone()))).logits();
                float[] lastA = java.util.Arrays.copyOfRange(la, (n - 1) * vocab, n * vocab);
                float[] lastB = java.util.Arrays.copyOfRange(lb, (n - 1) * vocab, n * vocab);
                double e = RelativeError.of(lastB, lastA).value();
                worst = Math.max(worst, e);
                if (tokens >= 9_000) {
                    sumLast += e;
                    countLast++;
                }
                agree += argmax(lastA) == argmax(lastB) ? 1 : 0;
                tokens += n;
                events++;
            }
            double agreement = agree / (double) events;
            System.out.printf("bf16 GPU states, gdn-tiny, %s chunkwise rule, %d tokens in %d events: max logits rel "
                    + "err %.3e, mean over the last 1000 tokens %.3e, top-1 agreement %.4f%n", chunk.label(), tokens,
                    events, worst, sumLast / countLast, agreement);
            assertThat(worst).isLessThan(6e-2);
            assertThat(sumLast / countLast).isLessThan(3e-2);
            assertThat(agreement).isGreaterThan(0.95);
        } finally {
            exact.engine().orElseThrow().close();
            half.engine().orElseThrow().close();
        }
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
