package dev.gdn.cli;

import dev.gdn.bench.GpuTables;
import dev.gdn.kernels.cuda.CudaProbe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gdn bench}: the parity-gated GPU benchmarks (the benchmarks module's {@link GpuTables}) and the
 * operator benchmark ({@link dev.gdn.run.OperatorBench}). Each GPU table is timed only after its kernels pass their parity gate, and prints the
 * device-to-device copy bandwidth measured in the same run. (CPU benchmarks are JMH: see
 * docs/BENCHMARKS.md.)
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Parity-gated GPU benchmarks (the gated delta rule per layer, and a whole FLA-1B-shaped model).",
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:every table timed", "1:a parity gate failed (that part is not timed)",
            "3:CUDA unavailable"})
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--what", defaultValue = "all",
            description = "step (gated delta rule: decode, 64-token pieces, prefill), model (FLA-1B shape with random "
                + "bf16-rounded weights, 1..1024 streams), mamba2 (the H2 hybrid's Mamba2 scan), generation (generated "
                + "tokens/s, 1..1024 concurrent generations, FLA-1B shape), operator (the keyed operator in a local "
                + "Flink cluster beside the resident engine alone) or all = step and model (default ${DEFAULT-VALUE})")
    String what;

    @Option(names = "--cases", split = ",", paramLabel = "CASE",
            description = "with --what operator: MODEL:STREAMS:TOKENS[:STATE] or MODEL:zipf:KEYS:PER_BUNDLE:CACHE[:STATE], "
                + "models fla-1b and recall, STATE hashmap (default) or rocksdb (default: the standard table)")
    java.util.List<String> cases;

    @Option(names = "--backend", defaultValue = "auto",
            description = "with --what operator: auto, cpu, cuda, or noop: an engine that computes nothing and advances "
                + "on a thread of its own as a GPU's does, so the job runs at the speed of its host path (parsing, "
                + "batching, memory cache, state, results): the ceiling of the operator around any engine "
                + "(default ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--window", defaultValue = "30", description = "with --what operator: seconds measured per case "
            + "(default ${DEFAULT-VALUE})")
    int window;

    @Option(names = "--layers", defaultValue = "21", description = "layers of the model benchmark (default ${DEFAULT-VALUE})")
    int layers;

    @Option(names = "--out", paramLabel = "DIR",
            description = "also write step.json / model.json / mamba2.json / generation.json there")
    Path out;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!java.util.List.of("step", "model", "mamba2", "generation", "operator", "all").contains(what)) {
            throw new IllegalArgumentException("--what '" + what + "' is not one of step, model, mamba2, generation, "
                    + "operator, all");
        }
        if (!java.util.List.of("auto", "cpu", "cuda", "noop").contains(backend)) {
            throw new IllegalArgumentException("--backend '" + backend + "' is not one of auto, cpu, cuda, noop");
        }
        if (!what.equals("operator") && !backend.equals("auto")) {
            throw new IllegalArgumentException("--backend " + backend + " applies to --what operator only (the GPU "
                    + "tables always run on CUDA)");
        }
        if (what.equals("operator")) {
            if (out != null) {
                Files.createDirectories(out);
            }
            java.util.List<dev.gdn.run.OperatorBench.Case> list;
            if (cases != null) {
                list = cases.stream().map(dev.gdn.run.OperatorBench::parseCase).toList();
            } else if (backend.equals("noop")) {
                list = dev.gdn.run.OperatorBench.hostCases();
            } else if (CudaProbe.available()) {
                list = dev.gdn.run.OperatorBench.standardCases();
            } else {
                // the standard table is sized for a GPU (FLA-1B streams of 64.5 MiB): CPU-sized cases instead
                list = dev.gdn.run.OperatorBench.cpuCases();
                spec.commandLine().getErr().println("gdn bench: CUDA unavailable (" + CudaProbe.unavailableReason()
                        .orElse("") + "): running the CPU cases " + list.stream().map(c -> c.label())
                        .collect(java.util.stream.Collectors.joining(", ")) + "; --cases picks others");
                spec.commandLine().getErr().flush();
            }
            dev.gdn.run.OperatorBench.run(list, backend, "bf16-weights/fp32", java.time.Duration.ofSeconds(window),
                    out == null ? null : out.resolve("operator.json"), System.out);
            return 0;
        }
        if (layers < 1) {
            throw new IllegalArgumentException("--layers must be >= 1, got " + layers);
        }
        GpuTables tables = new GpuTables();
        String reason = CudaProbe.unavailableReason().orElse(null);
        if (reason != null) {
            spec.commandLine().getErr().println("CUDA unavailable: " + reason);
            spec.commandLine().getErr().flush();
            return GdnCli.EXIT_CUDA_UNAVAILABLE;
        }
        if (out != null) {
            Files.createDirectories(out);
        }
        int code = 0;
        for (String table : what.equals("all") ? java.util.List.of("step", "model") : java.util.List.of(what)) {
            code = Math.max(code, tables.run(table, out == null ? null : out.resolve(table + ".json"), layers));
            if (code == GdnCli.EXIT_CUDA_UNAVAILABLE) {
                break;
            }
        }
        return code;
    }
}
