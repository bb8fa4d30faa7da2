package dev.gdn.bench;

import dev.gdn.cli.GpuBenchmarks;
import dev.gdn.kernels.cuda.CudaGenerationBench;
import dev.gdn.kernels.cuda.CudaMamba2Bench;
import dev.gdn.kernels.cuda.CudaModelBench;
import dev.gdn.kernels.cuda.CudaStepBench;
import java.nio.file.Path;
import java.util.List;

/** The GPU tables of {@code gdn bench}: the gated delta rule, the whole model, the Mamba2 scan, generation. */
public final class GpuTables implements GpuBenchmarks {
    @Override
    public List<String> tables() {
        return List.of("step", "model", "mamba2", "generation");
    }

    @Override
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
