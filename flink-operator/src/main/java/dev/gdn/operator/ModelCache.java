package dev.gdn.operator;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One loaded model per JVM and path: every operator instance of a TaskManager shares the weights and
 * the CPU thread pool (the forward pass is safe to call from several task threads at once).
 */
public final class ModelCache {
    private static final Map<String, GatedDeltaNetModel> MODELS = new ConcurrentHashMap<>();

    private ModelCache() {
    }

    /** The model at {@code path}, loaded on first use with {@code threads} CPU threads (0 = all cores). */
    public static GatedDeltaNetModel get(String path, int threads) {
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return MODELS.computeIfAbsent(Path.of(path).toAbsolutePath().normalize() + "#" + t,
                k -> GatedDeltaNetModel.load(Path.of(path), CpuKernels.fast(t, CpuKernels.DEFAULT_CHUNK_THRESHOLD)));
    }
}
