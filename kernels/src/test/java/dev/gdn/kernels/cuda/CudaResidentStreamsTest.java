package dev.gdn.kernels.cuda;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.ForwardResult;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.RowScores;
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
        List<String> all = new ArrayList<>(Fixtures.modelNames());
        all.add("h2-tiny");
        return all;
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
            float[] lastHidden = null;
            int[] lastOffsets = null;
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
                lastHidden = resident;
                lastOffsets = offsets;
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
                int d = cpu.config().hiddenSize();
                assertThat(back.lastHidden()).as(name + " stream " + i + ": the slot keeps its last row")
                        .containsExactly(java.util.Arrays.copyOfRange(lastHidden, (lastOffsets[i + 1] - 1) * d,
                                lastOffsets[i + 1] * d));
                back.setLastHidden(null); // the copy path leaves the last hidden state to its caller
                assertThat(back.tokensConsumed()).isEqualTo(copies.get(i).tokensConsumed());
                assertThat(back).as(name + " stream " + i + " stored memory equals the copy path's bit for bit")
                        .isEqualTo(copies.get(i));
            }
            System.out.println(name + ": resident slots = copy path bitwise over 6 rounds, 6 streams in scattered slots");
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void rowsScoredOnTheDeviceEqualTheSameRowsScoredFromTheHost(String name) {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model(name), CpuKernels.fast());
        // a pass limit of 70 rows: the bundle below runs as several passes, its hidden states gathered
        GatedDeltaNetModel gpu = cpu.withEngine(new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, 70));
        int d = cpu.config().hiddenSize();
        int vocab = cpu.config().vocabSize();
        int k = Math.min(5, vocab);
        try (ResidentStreams slots = gpu.residentStreams(6); ResidentStreams host = cpu.residentStreams(6)) {
            int[] slotOf = {4, 1, 5};
            Random rnd = new Random(5);
            for (int i = 0; i < slotOf.length; i++) {
                slots.load(slotOf[i], cpu.newMemory());
                host.load(slotOf[i], cpu.newMemory());
            }
            for (int round = 0; round < 4; round++) {
                int[] lengths = round == 0 ? new int[] {65, 3, 1} : round == 1 ? new int[] {1, 1, 1} : new int[] {2, 40, 1};
                int[] offsets = CudaStepHarness.offsetsOf(lengths);
                int[] flat = new int[offsets[lengths.length]];
                for (int t = 0; t < flat.length; t++) {
                    flat[t] = rnd.nextInt(vocab);
                }
                // every row of every stream, and each stream's previous last hidden state when it has one
                List<Integer> sources = new ArrayList<>();
                float[][] before = new float[lengths.length][];
                for (int i = 0; i < lengths.length; i++) {
                    assertThat(slots.hasLastHidden(slotOf[i])).isEqualTo(host.hasLastHidden(slotOf[i])).isEqualTo(round > 0);
                    if (slots.hasLastHidden(slotOf[i])) {
                        sources.add(-(i + 1));
                        before[i] = slots.store(slotOf[i]).lastHidden();
                    }
                    for (int row = offsets[i]; row < offsets[i + 1]; row++) {
                        sources.add(row);
                    }
                }
                int r = sources.size();
                int[] src = sources.stream().mapToInt(Integer::intValue).toArray();
                int[] targets = new int[r];
                boolean[] want = new boolean[r];
                for (int i = 0; i < r; i++) {
                    targets[i] = i % 4 == 0 ? -1 : rnd.nextInt(vocab);
                    want[i] = i % 3 == 0;
                }
                ResidentStreams.ScoreRows ask = new ResidentStreams.ScoreRows(src, targets, want, k);
                ResidentStreams.Scored onDevice = slots.advanceScored(slotOf, offsets, flat, ask, true);
                ResidentStreams.Scored onCpu = host.advanceScored(slotOf, offsets, flat, ask, false);
                assertThat(onCpu.hidden()).isNull();
                // the same rows, gathered on the host and scored by the engine from there
                float[] rows = new float[r * d];
                for (int i = 0; i < r; i++) {
                    int s = src[i];
                    System.arraycopy(s >= 0 ? onDevice.hidden() : before[-s - 1], s >= 0 ? s * d : 0, rows, i * d, d);
                }
                RowScores fromHost = gpu.scoreRows(rows, 0, r, targets, want, k);
                String at = name + " round " + round;
                assertThat(onDevice.scores().lse()).as(at + " lse").containsExactly(fromHost.lse());
                assertThat(onDevice.scores().target()).as(at + " target logits").containsExactly(fromHost.target());
                double worst = 0;
                for (int i = 0; i < r; i++) {
                    worst = Math.max(worst, Math.abs(onDevice.scores().lse()[i] - onCpu.scores().lse()[i])
                            / Math.max(1, Math.abs(onCpu.scores().lse()[i])));
                    if (want[i]) {
                        for (int j = 0; j < k; j++) {
                            assertThat(onDevice.scores().topIds()[i * k + j]).as(at + " row %d top %d", i, j)
                                    .isEqualTo(fromHost.topIds()[i * k + j]);
                        }
                    }
                }
                assertThat(worst).as(at + " lse against the CPU form").isLessThan(1e-4);
                for (int i = 0; i < lengths.length; i++) {
                    assertThat(slots.store(slotOf[i]).lastHidden()).as(at + " stream " + i + " last hidden state")
                            .containsExactly(java.util.Arrays.copyOfRange(onDevice.hidden(), (offsets[i + 1] - 1) * d,
                                    offsets[i + 1] * d));
                }
            }
            slots.reset(slotOf[0]);
            assertThat(slots.hasLastHidden(slotOf[0])).isFalse();
            assertThat(slots.store(slotOf[0]).lastHidden()).isNull();
            StreamMemory moved = slots.store(slotOf[1]);
            slots.load(0, moved);
            assertThat(slots.store(0).lastHidden()).as("a loaded last hidden state").containsExactly(moved.lastHidden());
            System.out.println(name + ": device-gathered rows score as host-gathered ones, bitwise, over 4 rounds");
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void copiesMadeLaterHoldTheSlotsAsTheyWereWhileTheSlotsAdvance(String name) {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model(name), CpuKernels.fast());
        GatedDeltaNetModel gpu = cpu.withEngine(new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, 4096));
        int vocab = cpu.config().vocabSize();
        try (ResidentStreams slots = gpu.residentStreams(40)) {
            // runs of neighbouring slots and lone ones, more than one round of the background copy
            int[] ids = java.util.stream.IntStream.concat(java.util.stream.IntStream.range(0, 3),
                    java.util.stream.IntStream.of(5, 7, 8, 9, 12, 39)).toArray();
            int[] all = java.util.stream.IntStream.concat(java.util.stream.IntStream.of(ids),
                    java.util.stream.IntStream.range(13, 39)).toArray();
            Random rnd = new Random(9);
            for (int s : all) {
                slots.load(s, cpu.newMemory());
            }
            int[] offsets = java.util.stream.IntStream.rangeClosed(0, all.length).map(i -> 3 * i).toArray();
            int[] tokens = rnd.ints(3 * all.length, 0, vocab).toArray();
            for (int round = 0; round < 3; round++) {
                slots.advance(all, offsets, tokens);
                StreamMemory[] now = slots.storeAll(all);
                StreamMemory[] later = slots.storeAllLater(all);
                // the slots move on at once; the copies keep the moment they were asked for
                slots.advance(all, offsets, tokens);
                slots.advance(all, offsets, tokens);
                for (int i = 0; i < all.length; i++) {
                    assertThat(later[i]).as(name + " round " + round + " slot " + all[i]).isEqualTo(now[i]);
                    assertThat(later[i].isComplete()).isTrue();
                }
                assertThat(slots.store(all[0])).as("the slot itself moved on").isNotEqualTo(now[0]);
            }
            System.out.println(name + ": copies made later equal the slots at the call, " + all.length + " slots, 3 rounds");
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void memoriesLoadedTogetherIntoScatteredSlotsComeBackBitForBit(String name) {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model(name), CpuKernels.fast());
        GatedDeltaNetModel gpu = cpu.withEngine(new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, 4096));
        int vocab = cpu.config().vocabSize();
        try (ResidentStreams slots = gpu.residentStreams(80)) {
            // 40 streams with history (more than one round of 32), into every other slot, then a run
            Random rnd = new Random(17);
            int[] ids = java.util.stream.IntStream.range(0, 40).map(i -> i < 30 ? 2 * i + 1 : 40 + i).toArray();
            StreamMemory[] mems = new StreamMemory[ids.length];
            for (int i = 0; i < ids.length; i++) {
                mems[i] = cpu.newMemory();
                cpu.forward(List.of(new StreamInput(mems[i], rnd.ints(3 + i % 5, 0, vocab).toArray())), false);
                if (i % 3 == 0) {
                    float[] h = new float[cpu.config().hiddenSize()];
                    for (int j = 0; j < h.length; j++) {
                        h[j] = (float) rnd.nextGaussian();
                    }
                    mems[i].setLastHidden(h);
                }
            }
            slots.loadAll(ids, mems);
            StreamMemory[] back = slots.storeAll(ids);
            for (int i = 0; i < ids.length; i++) {
                assertThat(back[i]).as(name + " stream " + i + " in slot " + ids[i]).isEqualTo(mems[i]);
                assertThat(slots.hasLastHidden(ids[i])).isEqualTo(i % 3 == 0);
            }
            // cleared together (more than one round): each as a stream that has seen nothing; the rest untouched
            int[] cleared = java.util.Arrays.copyOf(ids, 35);
            slots.resetAll(cleared);
            for (int i = 0; i < ids.length; i++) {
                assertThat(slots.store(ids[i])).as(name + " slot " + ids[i] + " after clearing 35")
                        .isEqualTo(i < 35 ? cpu.newMemory() : mems[i]);
            }
            System.out.println(name + ": 40 memories loaded together into scattered slots come back bit for bit; 35 cleared together");
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }
}
