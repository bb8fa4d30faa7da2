package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
    @BeforeEach
    void requireGpu() {
        CudaProbe.unavailableReason().ifPresent(r -> System.out.println("skipping GPU tests: CUDA unavailable: " + r));
        assumeTrue(CudaProbe.available(), () -> "CUDA unavailable: " + CudaProbe.unavailableReason().orElse(""));
    }

    private static Configuration onGpu(int slots) {
        Configuration c = GdnInferenceOperatorTest.config(8, 10_000, 60_000);
        c.set(GdnOptions.BACKEND, "cuda");
        long perSlot = MemoryLayout.of(ModelCache.get(GdnInferenceOperatorTest.MODEL.toString(), 2).config()).floats() * 4;
        c.set(GdnOptions.CACHE_CAPACITY, new MemorySize(slots * perSlot));
        return c;
    }

    @Test
    void threeDeviceSlotsForFiftyStreamsGiveTheBytesOfEveryStreamResident() throws Exception {
        List<StreamEvent> events = MemoryCacheOperatorTest.workload(5, 400);
        // the hashmap backend: the path through keyed state is the same code on RocksDB (MemoryCacheOperatorTest
        // runs both on the CPU), and the GPU machine carries no RocksDB library
        for (StateBackend backend : new StateBackend[] {new HashMapStateBackend()}) {
            String name = backend.getClass().getSimpleName();
            List<String> resident = MemoryCacheOperatorTest.sortedById(
                    MemoryCacheOperatorTest.run(onGpu(64), backend, events, 7, -1));
            assertThat(resident).hasSize(events.size());
            assertThat(MemoryCacheOperatorTest.sortedById(MemoryCacheOperatorTest.run(onGpu(3), backend, events, 7, -1)))
                    .as(name + ", 3 slots").containsExactlyElementsOf(resident);
            assertThat(MemoryCacheOperatorTest.sortedById(MemoryCacheOperatorTest.run(onGpu(3), backend, events, 7, 211)))
                    .as(name + ", 3 slots, restored").containsExactlyElementsOf(resident);
        }
    }
}
