package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gdn.kernels.cuda.ChunkPrecision;
import dev.gdn.kernels.cuda.CudaProbe;
import dev.gdn.kernels.cuda.MatmulPrecision;
import dev.gdn.kernels.cuda.StatePrecision;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bundle core on the GPU engine, without Flink (so it runs where the harness's test jars are not
 * carried): device slots evicted and loaded again give the bytes of every stream resident; young streams
 * kept as their tokens and rebuilt on the device, in bundles of other composition, give results within
 * 1e-5 of them.
 */
@Tag("gpu")
@Timeout(600)
class GpuBundleCoreTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /**
     * The demo recall model's shape (4 layers, hidden 256, 4 heads of 64 x 128, vocab 384) with seeded random
     * weights, built here: a GPU run then carries no checkpoint.
     */
    static GatedDeltaNetModel recallShaped(EngineSpec spec) {
        String name = "bench:gpu-bundle-core";
        dev.gdn.kernels.config.ModelConfig c = new dev.gdn.kernels.config.ModelConfig(384, 256, 4, 4, 64, 128, 4, 4,
                true, true, false, 1e-6f, 1024, false);
        ModelCache.preload(name, new GatedDeltaNetModel(c, dev.gdn.kernels.model.RandomWeights.of(c, 3),
                dev.gdn.kernels.model.CpuKernels.fast()));
        return ModelCache.get(name, spec);
    }

    /** {@link #recallShaped(EngineSpec)} on {@code backend}, fp32 throughout. */
    static GatedDeltaNetModel recallShaped(EngineSpec.Backend backend) {
        return recallShaped(new EngineSpec(backend, 0, MatmulPrecision.FP32, ChunkPrecision.FP32, StatePrecision.FP32,
                0));
    }

    /** The same event ids, and each result within {@code rel} of the expected one. */
    static void assertAllWithin(Map<String, String> actual, Map<String, String> expected, double rel) throws Exception {
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        for (String id : expected.keySet()) {
            JsonWithin.assertSameWithin(JSON.readTree(actual.get(id)), JSON.readTree(expected.get(id)), rel, id);
        }
    }

    @BeforeEach
    void requireGpu() {
        CudaProbe.unavailableReason().ifPresent(r -> System.out.println("skipping GPU tests: CUDA unavailable: " + r));
        assumeTrue(CudaProbe.available(), () -> "CUDA unavailable: " + CudaProbe.unavailableReason().orElse(""));
    }

    /** Results by event id, after the events ran in bundles of 7 through {@code slots} device slots. */
    static Map<String, String> run(GatedDeltaNetModel model, int slots, int young, List<StreamEvent> events,
            long[] rebuilds) throws Exception {
        BundleCore.Settings s = new BundleCore.Settings(0, 0, null, 0, true, 8, young);
        Map<String, String> out = new LinkedHashMap<>();
        try (BundleCore core = new BundleCore(model, model.residentStreams(slots), new EventScorer(model, 3, false), null,
                s, new MapStore())) {
            for (int from = 0; from < events.size(); from += 7) {
                Map<String, List<StreamEvent>> bundle = new LinkedHashMap<>();
                for (StreamEvent e : events.subList(from, Math.min(events.size(), from + 7))) {
                    bundle.computeIfAbsent(e.stream, k -> new ArrayList<>()).add(e);
                }
                core.run(bundle, from, r -> out.put(JSON.readTree(r.json()).get("id").asText(), r.json()));
            }
            // on the GPU the last bundle's pass runs apart: its results come out here
            assertThat(core.pipelined()).isEqualTo(model.engine().isPresent());
            core.finishPending(r -> out.put(JSON.readTree(r.json()).get("id").asText(), r.json()));
            rebuilds[0] = core.rebuilds();
        }
        return out;
    }

    @Test
    void evictedDeviceSlotsGiveTheBytesOfEveryStreamResidentAndRebuiltYoungStreamsAgreeWithin1e5()
            throws Exception {
        GatedDeltaNetModel model = recallShaped(EngineSpec.Backend.CUDA);
        assertThat(model.engine()).as("the CUDA engine").isPresent();
        List<StreamEvent> events = Workloads.skewed(5, 400);
        long[] rebuilds = new long[1];
        Map<String, String> resident = run(model, 64, 0, events, rebuilds);
        assertThat(resident).hasSize(events.size());
        assertThat(run(model, 10, 0, events, rebuilds)).as("10 slots, memories").isEqualTo(resident);
        Map<String, String> young = run(model, 10, 16, events, rebuilds);
        assertThat(rebuilds[0]).as("young streams rebuilt on the device").isPositive();
        assertAllWithin(young, resident, 1e-5);
        System.out.printf("GPU bundle core: %d events, %d young streams rebuilt on the device, results within 1e-5%n",
                events.size(), rebuilds[0]);
    }

    /**
     * The scores the GPU computes where the hidden states are (nll, top k ids and probabilities, gathered
     * from this pass's rows and from the slots' last hidden states, and copied down together) agree with
     * the CPU engine's for every event, within the model-logits tolerance.
     */
    @Test
    void everyResultOnTheGpuAgreesWithTheCpuEngineWithin1e4() throws Exception {
        GatedDeltaNetModel gpu = recallShaped(EngineSpec.Backend.CUDA);
        GatedDeltaNetModel cpu = recallShaped(EngineSpec.Backend.CPU);
        assertThat(cpu.engine()).as("the CPU engine").isEmpty();
        List<StreamEvent> events = Workloads.skewed(7, 300);
        long[] rebuilds = new long[1];
        Map<String, String> onGpu = run(gpu, 10, 0, events, rebuilds);
        Map<String, String> onCpu = run(cpu, 10, 0, events, rebuilds);
        assertAllWithin(onGpu, onCpu, 1e-4);
        System.out.printf("GPU bundle core: %d results within 1e-4 of the CPU engine's%n", onCpu.size());
    }

    /**
     * Streams that stay resident, bundles of tokens only: each bundle's pass is launched while the one
     * before it is still on the device (two passes queued), and every result agrees with the CPU engine's
     * run one bundle after another, within the model-logits tolerance.
     */
    @Test
    void passesLaunchedBehindThePassInFlightGiveTheCpuEnginesResultsWithin1e4() throws Exception {
        GatedDeltaNetModel gpu = recallShaped(EngineSpec.Backend.CUDA);
        GatedDeltaNetModel cpu = recallShaped(EngineSpec.Backend.CPU);
        java.util.Random r = new java.util.Random(9);
        List<StreamEvent> events = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            int[] t = new int[1 + r.nextInt(3)];
            for (int j = 0; j < t.length; j++) {
                t[j] = r.nextInt(384);
            }
            events.add(new StreamEvent("s" + i % 48, "e" + i, t, false));
        }
        int[] mostInFlight = new int[1];
        Map<String, String> onGpu = runResident(gpu, events, mostInFlight);
        assertThat(mostInFlight[0]).as("passes queued on the device at once").isEqualTo(2);
        Map<String, String> onCpu = runResident(cpu, events, new int[1]);
        assertAllWithin(onGpu, onCpu, 1e-4);
        System.out.printf("GPU bundle core: %d results of passes launched behind the one in flight within 1e-4 of "
                + "the CPU engine's%n", onCpu.size());
    }

    private static Map<String, String> runResident(GatedDeltaNetModel model, List<StreamEvent> events,
            int[] mostInFlight) throws Exception {
        BundleCore.Settings s = new BundleCore.Settings(0, 0, null, 0, true, 8, 0);
        Map<String, String> out = new LinkedHashMap<>();
        try (BundleCore core = new BundleCore(model, model.residentStreams(64), new EventScorer(model, 3, false), null,
                s, new MapStore())) {
            for (int from = 0; from < events.size(); from += 48) {
                Map<String, List<StreamEvent>> bundle = new LinkedHashMap<>();
                for (StreamEvent e : events.subList(from, Math.min(events.size(), from + 48))) {
                    bundle.computeIfAbsent(e.stream, k -> new ArrayList<>()).add(e);
                }
                core.run(bundle, from, r -> out.put(JSON.readTree(r.json()).get("id").asText(), r.json()));
                mostInFlight[0] = Math.max(mostInFlight[0], core.passesInFlight());
            }
            core.finishPending(r -> out.put(JSON.readTree(r.json()).get("id").asText(), r.json()));
        }
        return out;
    }
}
