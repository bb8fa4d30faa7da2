package dev.gdn.cli;

import dev.gdn.kernels.config.ConfigException;
import dev.gdn.kernels.cuda.Backends;
import dev.gdn.kernels.cuda.ChunkPrecision;
import dev.gdn.kernels.cuda.CudaChunkedGatedDeltaRule;
import dev.gdn.kernels.cuda.CudaDevice;
import dev.gdn.kernels.cuda.CudaUnavailableException;
import dev.gdn.kernels.cuda.MatmulPrecision;
import dev.gdn.kernels.cuda.CudaRuleAdapter;
import dev.gdn.kernels.io.SafetensorsFormatException;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.parity.ModelParity;
import dev.gdn.kernels.parity.OpParity;
import dev.gdn.kernels.parity.ParityReport;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gdn parity}: checks this implementation against reference outputs. Prints one line per
 * compared tensor, then exactly {@code parity: PASS|FAIL max_rel_err=<x>}. Exit 0 on pass, 1 on
 * fail, 2 on bad input.
 */
@Command(name = "parity", mixinStandardHelpOptions = true,
        description = {"Check the model or the gated delta rule against reference outputs.",
            "Model: --model DIR --expected FILE [--pieces 37,1,1,64,57]",
            "Op:    --op FILE"},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:every tensor within tolerance", "1:a tensor out of tolerance",
            "2:bad input (missing file, wrong shapes, unsupported config)",
            "3:--backend cuda where CUDA is unavailable"})
public final class ParityCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "DIR", description = "checkpoint folder (config.json + model.safetensors)")
    Path model;

    @Option(names = "--expected", paramLabel = "FILE", description = "safetensors with input_ids, logits[, state.layers.*]")
    Path expected;

    @Option(names = "--pieces", paramLabel = "N,N,...", split = ",",
            description = "also run the input in these pieces, carrying the memory between them")
    int[] pieces;

    @Option(names = "--op", paramLabel = "FILE", description = "gated delta rule case: q, k, v, g, beta, h0, o_ref, ht_ref")
    Path op;

    @Option(names = "--backend", defaultValue = "cpu",
            description = {"cpu (fast kernels), reference (plain loops in double), cuda (the GPU; exit 3 when "
                + "unavailable) or auto (cuda when available, else cpu); default ${DEFAULT-VALUE}.",
                "With --op, cuda adds the GPU's recurrent and chunkwise kernels to the CPU forms."})
    String backend;

    @Option(names = "--matmul-precision", defaultValue = "fp32",
            description = "GPU matrix products: fp32, tf32, bf16 or bf16-weights (default ${DEFAULT-VALUE}; the "
                + "default --tolerance becomes 1e-2 with any but fp32)")
    String matmulPrecision;

    @Option(names = "--chunk-precision", defaultValue = "fp32",
            description = "the GPU's chunkwise gated delta rule: fp32, 3xtf32 or bf16 (default ${DEFAULT-VALUE}; "
                + "the default --tolerance becomes 1e-2 with bf16)")
    String chunkPrecision;

    @Option(names = "--state-precision", defaultValue = "fp32",
            description = "how the GPU keeps the Gated DeltaNet states: fp32 or bf16 (default ${DEFAULT-VALUE}; the "
                + "default --tolerance becomes 1e-2 with bf16)")
    String statePrecision;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads; 0 = one per core")
    int threads;

    @Option(names = "--tolerance", description = "relative RMS error allowed; default 1e-4 (--model), 1e-5 (--op)")
    Double tolerance;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            if (!java.util.Set.of("cpu", "reference", "cuda", "auto").contains(backend)) {
                return bad(err, "--backend '" + backend + "' is not one of cpu, reference, cuda, auto");
            }
            ParityReport report;
            if (op != null) {
                if (model != null || expected != null) {
                    return bad(err, "--op excludes --model and --expected");
                }
                requireFile(op, "--op");
                double tol = tolerance == null ? 1e-5 : tolerance;
                OpParity.Case c = OpParity.read(op);
                report = OpParity.check(c, tol);
                if (useCuda(err)) {
                    try (CudaDevice d = new CudaDevice(0)) {
                        OpParity.compare(report, "cuda_recurrent", c, new CudaRuleAdapter(d), tol);
                        for (ChunkPrecision p : ChunkPrecision.values()) {
                            if (CudaChunkedGatedDeltaRule.supports(c.shape(), p)) {
                                // the chunked tolerance is ten times the recurrent one; bf16 operands: 1e-2
                                double t = p == ChunkPrecision.BF16 ? Math.max(1e-2, 10 * tol) : 10 * tol;
                                OpParity.compare(report, "cuda_chunk_" + p.label(), c, new CudaRuleAdapter(d, p), t);
                            }
                        }
                    }
                }
            } else {
                if (model == null || expected == null) {
                    return bad(err, "give --model DIR and --expected FILE, or --op FILE");
                }
                requireFile(expected, "--expected");
                if (!Files.isDirectory(model)) {
                    return bad(err, "--model " + model + ": not a directory");
                }
                MatmulPrecision precision = MatmulPrecision.parse(matmulPrecision);
                ChunkPrecision chunk = ChunkPrecision.parse(chunkPrecision);
                dev.gdn.kernels.cuda.StatePrecision state = dev.gdn.kernels.cuda.StatePrecision.parse(statePrecision);
                GatedDeltaNetModel m = GatedDeltaNetModel.load(model, kernels());
                if (!backend.equals("reference")) {
                    m = Backends.apply(m, backend, precision, chunk, state, 0, line -> {
                        err.println("INFO " + line);
                        err.flush();
                    });
                }
                boolean approximate = precision != MatmulPrecision.FP32 || chunk == ChunkPrecision.BF16
                        || state == dev.gdn.kernels.cuda.StatePrecision.BF16;
                double tol = tolerance != null ? tolerance : m.engine().isPresent() && approximate ? 1e-2 : 1e-4;
                try {
                    report = ModelParity.check(m, expected, pieces, tol);
                } finally {
                    m.engine().ifPresent(e -> e.close());
                }
                err.println("backend: " + m.backendName());
                err.flush();
            }
            report.lines().forEach(l -> out.println(l));
            out.println(report.verdict());
            out.flush();
            return report.pass() ? 0 : 1;
        } catch (CudaUnavailableException e) {
            err.println("CUDA unavailable: " + e.getMessage());
            err.flush();
            return GdnCli.EXIT_CUDA_UNAVAILABLE;
        } catch (SafetensorsFormatException | ConfigException | IllegalArgumentException e) {
            return bad(err, e.getMessage());
        }
    }

    /** Whether to run the GPU forms: cuda (forced: unavailable is exit 3), auto (when available). */
    private boolean useCuda(PrintWriter err) {
        return !backend.equals("reference") && Backends.usesCuda(backend, line -> {
            err.println("INFO " + line);
            err.flush();
        });
    }

    private CpuKernels kernels() {
        return switch (backend) {
            case "cpu", "auto", "cuda" -> CpuKernels.fast(threads > 0 ? threads : Runtime.getRuntime().availableProcessors(),
                    CpuKernels.DEFAULT_CHUNK_THRESHOLD);
            case "reference" -> CpuKernels.reference();
            default -> throw new IllegalArgumentException("--backend '" + backend
                    + "' is not one of cpu, reference, cuda, auto");
        };
    }

    private static void requireFile(Path p, String option) {
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException(option + " " + p + ": no such file");
        }
    }

    private static int bad(PrintWriter err, String message) {
        err.println("error: " + message);
        err.flush();
        return GdnCli.EXIT_BAD_INPUT;
    }
}
