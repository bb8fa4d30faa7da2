package dev.gdn.operator;

import dev.gdn.kernels.cuda.Backends;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One loaded model per JVM, path and backend: every operator instance of a TaskManager shares the
 * weights, the CPU thread pool or the GPU engine (the forward pass is safe to call from several task
 * threads at once; on the GPU calls take turns). Native libraries and the GPU context are set up once
 * per JVM.
 */
public final class ModelCache {
    private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);
    private static final Map<String, GatedDeltaNetModel> MODELS = new ConcurrentHashMap<>();
    private static final Map<String, GatedDeltaNetModel> PRELOADED = new ConcurrentHashMap<>();

    private ModelCache() {
    }

    /**
     * Serves a model built in memory (a benchmark's random weights of some shape) under {@code name}, as
     * if it were a checkpoint folder: operators whose {@code gdn.model.path} is {@code name} get it, on
     * the backend they ask for.
     */
    public static void preload(String name, GatedDeltaNetModel cpuModel) {
        PRELOADED.put(name, cpuModel);
    }

    /** The model at {@code path} on the CPU with {@code threads} threads (0 = all cores). */
    public static GatedDeltaNetModel get(String path, int threads) {
        return get(path, EngineSpec.cpu(threads));
    }

    /**
     * The model at {@code path} as {@code spec} says, loaded on first use: one per path and spec (on the GPU
     * one per device, shared by every slot of the TaskManager that runs on it).
     *
     * @throws dev.gdn.kernels.cuda.CudaUnavailableException when cuda is forced and unusable
     */
    public static GatedDeltaNetModel get(String path, EngineSpec spec) {
        EngineSpec s = spec.resolved();
        GatedDeltaNetModel preloaded = PRELOADED.get(path);
        String key = (preloaded != null ? path : Path.of(path).toAbsolutePath().normalize()) + "#" + s;
        return MODELS.computeIfAbsent(key, k -> {
            CpuKernels kernels = CpuKernels.fast(s.threads(), CpuKernels.DEFAULT_CHUNK_THRESHOLD);
            GatedDeltaNetModel cpu = preloaded != null ? preloaded.withKernels(kernels)
                    : GatedDeltaNetModel.load(Path.of(path), kernels);
            GatedDeltaNetModel m = Backends.apply(cpu, s.backend().value(), s.matmul(), s.chunk(), s.state(),
                    s.device(), LOG::info);
            LOG.info("model {} runs on {}", path, m.backendName());
            return m;
        });
    }
}
