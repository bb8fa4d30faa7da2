package dev.gdn.kernels.cuda;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Chooses where a model's forward passes run: {@code cpu}, {@code cuda} (forced: unavailable is an
 * error) or {@code auto} (CUDA when a device, a driver and the CUDA 13 libraries are present, else
 * the CPU with one INFO line saying why).
 */
public final class Backends {
    /** The backend names accepted by {@link #apply}. */
    public static final java.util.List<String> NAMES = java.util.List.of("auto", "cpu", "cuda");

    private Backends() {
    }

    /**
     * @param model     a model on the CPU kernels
     * @param backend   auto, cpu or cuda
     * @param precision matrix products on the GPU
     * @param info      receives the one line (for an INFO log) saying why auto falls back to the CPU
     * @return the model as is (cpu) or computing on GPU 0 (cuda)
     * @throws IllegalArgumentException naming the value when backend is not one of the names
     * @throws CudaUnavailableException with the reason when cuda is forced and cannot work
     */
    public static GatedDeltaNetModel apply(GatedDeltaNetModel model, String backend, MatmulPrecision precision,
            Consumer<String> info) {
        return apply(model, backend, precision, 0, info);
    }

    /** {@link #apply(GatedDeltaNetModel, String, MatmulPrecision, Consumer)} on GPU {@code device} (a CUDA ordinal). */
    public static GatedDeltaNetModel apply(GatedDeltaNetModel model, String backend, MatmulPrecision precision,
            int device, Consumer<String> info) {
        return apply(model, backend, precision, ChunkPrecision.FP32, device, info);
    }

    /**
     * {@link #apply(GatedDeltaNetModel, String, MatmulPrecision, Consumer)} on GPU {@code device} (a CUDA
     * ordinal), the chunkwise gated delta rule in {@code chunk}.
     */
    public static GatedDeltaNetModel apply(GatedDeltaNetModel model, String backend, MatmulPrecision precision,
            ChunkPrecision chunk, int device, Consumer<String> info) {
        return apply(model, backend, precision, chunk, StatePrecision.FP32, device, info);
    }

    /**
     * {@link #apply(GatedDeltaNetModel, String, MatmulPrecision, ChunkPrecision, int, Consumer)} with the GPU
     * pool's Gated DeltaNet states in {@code state}.
     */
    public static GatedDeltaNetModel apply(GatedDeltaNetModel model, String backend, MatmulPrecision precision,
            ChunkPrecision chunk, StatePrecision state, int device, Consumer<String> info) {
        if (device < 0) {
            throw new IllegalArgumentException("device must be a CUDA ordinal >= 0, got " + device);
        }
        if (!usesCuda(backend, info)) {
            return model;
        }
        String unsupported = CudaForward.unsupportedReason(model.config()).orElse(null);
        if (unsupported != null) {
            if (backend.equalsIgnoreCase("auto")) {
                info.accept("backend auto: using the CPU (" + unsupported + ")");
                return model;
            }
            throw new IllegalArgumentException("backend cuda: " + unsupported + "; use --backend cpu or auto");
        }
        return model.withEngine(new CudaForward(new CudaDevice(device), model, precision, chunk, state,
                CudaForward.DEFAULT_MAX_ROWS_PER_PASS));
    }

    /**
     * Whether {@code backend} runs on the GPU here: cpu never; cuda always (or an error); auto when CUDA
     * is usable, else {@code info} gets the one line saying why not.
     *
     * @throws IllegalArgumentException naming the value when backend is not one of the names
     * @throws CudaUnavailableException with the reason when cuda is forced and cannot work
     */
    public static boolean usesCuda(String backend, Consumer<String> info) {
        String reason = CudaProbe.unavailableReason().orElse(null);
        switch (backend.toLowerCase(Locale.ROOT)) {
            case "cpu" -> {
                return false;
            }
            case "cuda" -> {
                if (reason != null) {
                    throw new CudaUnavailableException(reason);
                }
                return true;
            }
            case "auto" -> {
                if (reason != null) {
                    info.accept("backend auto: using the CPU (" + reason + ")");
                }
                return reason == null;
            }
            default -> throw new IllegalArgumentException("backend '" + backend + "' is not one of " + NAMES);
        }
    }

}
