package dev.gdn.state;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/** The FLA fixture models (from the kernels module's test resources) and memories they computed. */
final class TestModels {
    private static final Map<String, GatedDeltaNetModel> CACHE = new ConcurrentHashMap<>();

    private TestModels() {
    }

    static Path dir(String name) {
        String set = name.startsWith("h2-") ? "h2" : "fla";
        return Path.of("../kernels/src/test/resources/fixtures", set, "models", name).toAbsolutePath().normalize();
    }

    static GatedDeltaNetModel model(String name) {
        return CACHE.computeIfAbsent(name, n -> GatedDeltaNetModel.load(dir(n), CpuKernels.fast(2, 64)));
    }

    static MemoryLayout layout(GatedDeltaNetModel m) {
        return MemoryLayout.of(m.config());
    }

    static StreamMemorySerializer serializer(GatedDeltaNetModel m, StorageDType storage, ModelChangePolicy policy) {
        return new StreamMemorySerializer(layout(m), m.fingerprint(), storage, policy);
    }

    /** A memory after {@code tokens} seeded random tokens. */
    static StreamMemory memoryAfter(GatedDeltaNetModel m, int tokens, long seed) {
        Random r = new Random(seed);
        int[] t = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            t[i] = r.nextInt(m.config().vocabSize());
        }
        StreamMemory mem = m.newMemory();
        m.forward(List.of(new StreamInput(mem, t)), false);
        return mem;
    }
}
