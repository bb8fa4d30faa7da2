package dev.gdn.kernels.cuda;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.ForwardResult;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.kernels.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Stream memories resident in GPU slots (the operator's cache) against the copy path (memories copied
 * in and out around every batch) and the CPU: the same hidden states and memories, bitwise against
 * the copy path, through loads into scattered slots, varlen batches, one-token steps (CUDA graphs),
 * a reset and stores back to the host; two resident sets on one engine do not disturb each other.
 */
@Tag("gpu")
@Timeout(600)
class CudaResidentStreamsTest {
    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    static List<String> models() {
        return Fixtures.modelNames();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void residentSlotsGiveTheCopyPathsResultsBitForBit(String name) {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model(name), CpuKernels.fast());
        GatedDeltaNetModel gpu = cpu.withEngine(new CudaForward(new CudaDevice(0), cpu, dev.gdn.kernels.cuda.MatmulPrecision.FP32, 4096));
        try (ResidentStreams slots = gpu.residentStreams(9); ResidentStreams other = gpu.residentStreams(2)) {
            int[] lengths = {1, 3, 64, 65, 40, 2};
            int[] slotOf = {7, 0, 4, 8, 2, 5};
            Random rnd = new Random(11);
            List<StreamMemory> copies = new ArrayList<>();
            List<StreamMemory> host = new ArrayList<>();
            for (int i = 0; i < lengths.length; i++) {
                // streams that have history already: one CPU pass each, then loaded
                StreamMemory m = cpu.newMemory();
                int[] warm = new int[5 + i];
                for (int t = 0; t < warm.length; t++) {
                    warm[t] = rnd.nextInt(cpu.config().vocabSize());
                }
                cpu.forward(List.of(new StreamInput(m, warm)), false);
                slots.load(slotOf[i], m);
                copies.add(m.copy());
                host.add(m.copy());
            }
            other.load(0, cpu.newMemory());
            other.load(1, cpu.newMemory());
            for (int round = 0; round < 6; round++) {
                int[] offsets = new int[lengths.length + 1];
                List<int[]> toks = new ArrayList<>();
                for (int i = 0; i < lengths.length; i++) {
                    int[] t = new int[round == 0 ? lengths[i] : 1];
                    for (int j = 0; j < t.length; j++) {
                        t[j] = rnd.nextInt(cpu.config().vocabSize());
                    }
                    toks.add(t);
                    offsets[i + 1] = offsets[i] + t.length;
                }
                if (round == 3) {
                    slots.reset(slotOf[1]);
                    copies.get(1).reset();
                    host.get(1).reset();
                }
                int[] flat = new int[offsets[lengths.length]];
                List<StreamInput> copyBatch = new ArrayList<>();
                List<StreamInput> cpuBatch = new ArrayList<>();
                for (int i = 0; i < lengths.length; i++) {
                    System.arraycopy(toks.get(i), 0, flat, offsets[i], toks.get(i).length);
                    copyBatch.add(new StreamInput(copies.get(i), toks.get(i).clone()));
                    cpuBatch.add(new StreamInput(host.get(i), toks.get(i).clone()));
                }
                float[] resident = slots.advance(slotOf, offsets, flat);
                // the other set advances in between: its slots are its own
                other.advance(new int[] {1, 0}, new int[] {0, 1, 2}, new int[] {3, 4});
                ForwardResult copied = gpu.forward(copyBatch, false);
                ForwardResult onCpu = cpu.forward(cpuBatch, false);
                assertThat(resident).as(name + " round " + round + ": resident vs copy path").containsExactly(copied.hidden());
                assertClose(name + " round " + round + " resident vs CPU", resident, onCpu.hidden(), 1e-4);
            }
            StreamMemory[] all = slots.storeAll(slotOf);
            for (int i = 0; i < lengths.length; i++) {
                assertThat(all[i]).as(name + " stream " + i + ": storeAll equals store").isEqualTo(slots.store(slotOf[i]));
                StreamMemory back = slots.store(slotOf[i]);
                assertThat(back.tokensConsumed()).isEqualTo(copies.get(i).tokensConsumed());
                assertThat(back).as(name + " stream " + i + " stored memory equals the copy path's bit for bit")
                        .isEqualTo(copies.get(i));
            }
            System.out.println(name + ": resident slots = copy path bitwise over 6 rounds, 6 streams in scattered slots");
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }
}
