package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gdn.kernels.cuda.CudaProbe;
import dev.gdn.state.MemoryLayout;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The operator on the GPU, in Flink's harness: memories resident in device slots, evicted (copied down
 * and written to keyed state) and loaded again, written back at the barrier (copies still arriving when
 * the snapshot reads them) and restored, give the bytes of the same run with every stream resident.
 */
@Tag("gpu")
@Timeout(600)
class GpuWriteBackTest {
    @org.junit.jupiter.api.io.TempDir
    static java.nio.file.Path checkpoints;

    @org.junit.jupiter.api.BeforeAll
    static void checkpointStorage() {
        GdnInferenceOperatorTest.checkpoints = checkpoints;
    }

    @BeforeEach
    void requireGpu() {
        CudaProbe.unavailableReason().ifPresent(r -> System.out.println("skipping GPU tests: CUDA unavailable: " + r));
        assumeTrue(CudaProbe.available(), () -> "CUDA unavailable: " + CudaProbe.unavailableReason().orElse(""));
    }

    private static Configuration onGpu(int slots) {
        return onGpu(slots, 0);
    }

    /** @param young gdn.state.log-tokens (0: every stream goes to state as its memory) */
    private static Configuration onGpu(int slots, int young) {
        Configuration c = GdnInferenceOperatorTest.config(8, 10_000, 60_000);
        c.set(GdnOptions.LOG_TOKENS, young);
        c.set(GdnOptions.BACKEND, "cuda");
        long perSlot = MemoryLayout.of(ModelCache.get(GdnInferenceOperatorTest.MODEL.toString(), 2).config()).floats() * 4;
        c.set(GdnOptions.CACHE_CAPACITY, new MemorySize(slots * perSlot));
        return c;
    }

    /**
     * The same runs on the GPU: with 10 device slots for 50 streams (evictions, copies down and up, no
     * bundle split) the bytes of every stream resident; restored from a checkpoint taken mid-run, equal
     * within 1e-5: the restore flushes a bundle of other composition, and on the GPU a key's results
     * depend on the other keys of its bundle within fp32 rounding (cuBLAS picks its kernels by batch); and
     * with young streams kept as their tokens (gdn.state.log-tokens 16), rebuilt on the device, within 1e-5.
     */
    @Test
    void tenDeviceSlotsForFiftyStreamsGiveTheBytesOfEveryStreamResident() throws Exception {
        List<StreamEvent> events = MemoryCacheOperatorTest.workload(5, 400);
        // the hashmap backend: the path through keyed state is the same code on RocksDB (MemoryCacheOperatorTest
        // runs both on the CPU), and the GPU machine carries no RocksDB library
        StateBackend backend = new HashMapStateBackend();
        List<String> resident = MemoryCacheOperatorTest.sortedById(
                MemoryCacheOperatorTest.run(onGpu(64), backend, events, 7, -1));
        assertThat(resident).hasSize(events.size());
        assertThat(MemoryCacheOperatorTest.sortedById(MemoryCacheOperatorTest.run(onGpu(10), backend, events, 7, -1)))
                .as("10 slots").containsExactlyElementsOf(resident);
        List<String> restored = MemoryCacheOperatorTest.sortedById(
                MemoryCacheOperatorTest.run(onGpu(10), backend, events, 7, 211));
        assertThat(restored).hasSameSizeAs(resident);
        for (int i = 0; i < resident.size(); i++) {
            JsonWithin.assertSameWithin(GdnInferenceOperatorTest.JSON.readTree(restored.get(i)),
                    GdnInferenceOperatorTest.JSON.readTree(resident.get(i)), 1e-5, "result " + i);
        }
        // young streams kept as their tokens and rebuilt on the device (in bundles of other composition),
        // through evictions and a restore: within 1e-5
        List<String> young = MemoryCacheOperatorTest.sortedById(
                MemoryCacheOperatorTest.run(onGpu(10, 16), backend, events, 7, 211));
        assertThat(MemoryCacheOperatorTest.lastRebuilds).as("young streams rebuilt on the GPU").isPositive();
        assertThat(young).hasSameSizeAs(resident);
        for (int i = 0; i < resident.size(); i++) {
            JsonWithin.assertSameWithin(GdnInferenceOperatorTest.JSON.readTree(young.get(i)),
                    GdnInferenceOperatorTest.JSON.readTree(resident.get(i)), 1e-5, "young, result " + i);
        }
    }
}
