package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.GenerationSettings;
import dev.gdn.kernels.model.Generator;
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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Generation on the GPU: the same tokens as on the CPU (greedy, seeded top-k picked from the device's
 * candidates, seeded sampling over the full logits, with and without a prompt), from host memories and
 * from resident slots forked on the device, which stay bitwise as they were.
 */
@Tag("gpu")
@Timeout(600)
class CudaGeneratorTest {
    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"gdn-tiny", "h1-swa", "h2-tiny"})
    void gpuGenerationsEqualTheCpusAndForkedSlotsStayAsTheyWere(String name) {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model(name), CpuKernels.fast());
        GatedDeltaNetModel gpu = cpu.withEngine(new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, 4096));
        int vocab = cpu.config().vocabSize();
        Random r = new Random(21);
        List<StreamMemory> memories = new ArrayList<>();
        List<Generator.Request> requests = new ArrayList<>();
        GenerationSettings[] kinds = {GenerationSettings.greedy(12), new GenerationSettings(12, 0.9, 7, 1.0, 5L, List.of()),
            new GenerationSettings(12, 1.1, 0, 0.9, 6L, List.of()), GenerationSettings.greedy(5)};
        for (int i = 0; i < 6; i++) {
            StreamMemory m = cpu.newMemory();
            int len = 2 + 7 * i;
            float[] hidden = cpu.forward(List.of(new StreamInput(m, r.ints(len, 0, vocab).toArray())), false).hidden();
            int d = cpu.config().hiddenSize();
            m.setLastHidden(java.util.Arrays.copyOfRange(hidden, (len - 1) * d, len * d));
            memories.add(m);
            int[] prompt = i % 3 == 1 ? new int[0] : r.ints(1 + 5 * i, 0, vocab).toArray();
            requests.add(new Generator.Request(m, prompt, kinds[i % kinds.length]));
        }
        try (Generator onCpu = new Generator(cpu); Generator onGpu = new Generator(gpu);
                ResidentStreams source = gpu.residentStreams(9)) {
            List<Generator.Result> expected = onCpu.generate(requests);
            List<Generator.Result> fromHost = onGpu.generate(requests);
            int[] slots = {4, 0, 8, 2, 7, 5};
            List<Generator.SlotRequest> slotRequests = new ArrayList<>();
            for (int i = 0; i < slots.length; i++) {
                source.load(slots[i], memories.get(i));
                slotRequests.add(new Generator.SlotRequest(slots[i], requests.get(i).prompt(), requests.get(i).settings()));
            }
            List<Generator.Result> fromSlots = onGpu.generate(source, slotRequests);
            for (int i = 0; i < requests.size(); i++) {
                assertThat(fromHost.get(i).ids()).as("%s request %d from host memories", name, i)
                        .containsExactly(expected.get(i).ids());
                assertThat(fromSlots.get(i).ids()).as("%s request %d from resident slots", name, i)
                        .containsExactly(expected.get(i).ids());
                assertThat(fromSlots.get(i).stop()).isEqualTo(expected.get(i).stop());
                assertThat(source.store(slots[i])).as("%s slot %d after forking", name, slots[i])
                        .isEqualTo(memories.get(i));
            }
            System.out.println(name + ": GPU generations = CPU generations for " + requests.size() + " requests");
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }
}
