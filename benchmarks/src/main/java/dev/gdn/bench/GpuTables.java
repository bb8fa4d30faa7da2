package dev.gdn.bench;

import dev.gdn.kernels.cuda.CudaGenerationBench;
import dev.gdn.kernels.cuda.CudaMamba2Bench;
import dev.gdn.kernels.cuda.CudaModelBench;
import dev.gdn.kernels.cuda.CudaStepBench;
import java.nio.file.Path;
import java.util.List;

/** The GPU tables of {@code gdn bench}: the gated delta rule, the whole model, the Mamba2 scan, generation. */
public final class GpuTables {
    /** The tables, by the names {@code --what} takes. */
    public List<String> tables() {
        return List.of("step", "model", "mamba2", "generation");
    }

    /**
     * Runs one table (CUDA must be available), writing its JSON rows to {@code json} when given.
     *
     * @param layers layers of the whole-model tables
     * @return 0 when every row was timed, 1 when a parity gate failed (that part is not timed), 3 when
     *     CUDA is unavailable
     */
    public int run(String table, Path json, int layers) throws Exception {
        return switch (table) {
            case "step" -> CudaStepBench.run(json);
            case "model" -> CudaModelBench.run(json, layers);
            case "mamba2" -> CudaMamba2Bench.run(json);
            case "generation" -> CudaGenerationBench.run(json, layers, "bf16+bf16,fp32+fp32");
            default -> throw new IllegalArgumentException("no GPU table '" + table + "' (one of " + tables() + ")");
        };
    }
}
