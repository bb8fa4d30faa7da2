package dev.gdn.operator;

import dev.gdn.kernels.cuda.Backends;
import dev.gdn.kernels.cuda.ChunkPrecision;
import dev.gdn.kernels.cuda.MatmulPrecision;
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
        return get(path, threads, "cpu", MatmulPrecision.FP32);
    }

    /**
     * The model at {@code path}, loaded on first use.
     *
     * @param backend   auto, cpu or cuda (see {@link Backends#apply})
     * @param precision GPU matrix products
     * @throws dev.gdn.kernels.cuda.CudaUnavailableException when cuda is forced and unusable
     */
    public static GatedDeltaNetModel get(String path, int threads, String backend, MatmulPrecision precision) {
        return get(path, threads, backend, precision, 0);
    }

    /**
     * The model at {@code path} on GPU {@code device} (when the backend runs on the GPU), loaded on first
     * use: one per device, shared by every slot of the TaskManager that runs on it.
     */
    public static GatedDeltaNetModel get(String path, int threads, String backend, MatmulPrecision precision,
            int device) {
        return get(path, threads, backend, precision, ChunkPrecision.FP32, device);
    }

    /**
     * {@link #get(String, int, String, MatmulPrecision, int)} with the GPU's chunkwise gated delta rule in
     * {@code chunk}.
     */
    public static GatedDeltaNetModel get(String path, int threads, String backend, MatmulPrecision precision,
            ChunkPrecision chunk, int device) {
        return get(path, threads, backend, precision, chunk, dev.gdn.kernels.cuda.StatePrecision.FP32, device);
    }

    /** {@link #get(String, int, String, MatmulPrecision, ChunkPrecision, int)} with the GPU pool's states in {@code state}. */
    public static GatedDeltaNetModel get(String path, int threads, String backend, MatmulPrecision precision,
            ChunkPrecision chunk, dev.gdn.kernels.cuda.StatePrecision state, int device) {
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        GatedDeltaNetModel preloaded = PRELOADED.get(path);
        String key = (preloaded != null ? path : Path.of(path).toAbsolutePath().normalize()) + "#" + t + "#" + backend
                + "#" + precision + "#" + chunk + "#" + state + "#gpu" + device;
        return MODELS.computeIfAbsent(key, k -> {
            CpuKernels kernels = CpuKernels.fast(t, CpuKernels.DEFAULT_CHUNK_THRESHOLD);
            GatedDeltaNetModel cpu = preloaded != null ? preloaded.withKernels(kernels)
                    : GatedDeltaNetModel.load(Path.of(path), kernels);
            GatedDeltaNetModel m = Backends.apply(cpu, backend, precision, chunk, state, device, LOG::info);
            LOG.info("model {} runs on {}", path, m.backendName());
            return m;
        });
    }
}
