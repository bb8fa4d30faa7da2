package dev.gdn.kernels.cuda;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.ForwardResult;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ModelWeights;
import dev.gdn.kernels.model.RandomWeights;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.kernels.parity.RelativeError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Parity-gated timer of the whole model on the GPU: an FLA-1B-shaped model (hidden 2048, 21 layers,
 * 6 heads, K 256, V 512, vocab 32000) with seeded random weights rounded to bf16 (a bf16 checkpoint),
 * memories resident on the GPU, LM head included. Each precision (matrix products + chunkwise rule) is
 * first checked against the CPU forward of the same weights on a few streams (logits within 1e-2 for
 * bf16 products and rule, FLA's precision class; 1e-3 for bf16 weights with split activations and the
 * 3xTF32 rule; 1e-4 for fp32); then 1, 64, 256, 1024 streams advance by one token and by 64-token pieces.
 * The device-to-device copy bandwidth is measured in the same run.
 *
 * <p>Arguments: {@code [out.json] [layers] [MATMUL+CHUNK[+STATE][@TOLERANCE],...]} (21 layers and bf16+bf16,
 * bf16-weights+3xtf32, fp32+fp32 by default); also {@code gdn bench gpu}.
 */
public final class CudaModelBench {
    private CudaModelBench() {
    }

    public static void main(String[] args) throws IOException {
        System.exit(run(args.length > 0 ? Path.of(args[0]) : null, args.length > 1 ? Integer.parseInt(args[1]) : 21,
                args.length > 2 ? args[2] : DEFAULT_MODES));
    }

    /** The precisions timed by default: FLA's class, the accurate tensor-core one, and fp32. */
    public static final String DEFAULT_MODES = "bf16+bf16,bf16-weights+3xtf32,fp32+fp32";

    /**
     * Matrix products and chunkwise rule, and the parity tolerance against the CPU: the one that goes
     * with them, or the one given after {@code @} (printed with the result, for measuring a mode whose
     * error on this random model exceeds its class's tolerance).
     */
    record Mode(MatmulPrecision matmul, ChunkPrecision chunk, StatePrecision state, double given) {
        static Mode parse(String s) {
            String[] at = s.trim().split("@");
            String[] p = at[0].split("\\+");
            if (p.length < 2 || p.length > 3 || at.length > 2) {
                throw new IllegalArgumentException("mode '" + s + "' is not MATMUL+CHUNK[+STATE][@TOLERANCE], e.g. "
                        + "bf16+bf16 or bf16+bf16+bf16");
            }
            return new Mode(MatmulPrecision.parse(p[0]), ChunkPrecision.parse(p[1]),
                    p.length == 3 ? StatePrecision.parse(p[2]) : StatePrecision.FP32,
                    at.length == 2 ? Double.parseDouble(at[1]) : Double.NaN);
        }

        String label() {
            return matmul.label() + "+" + chunk.label() + (state == StatePrecision.BF16 ? "+bf16 states" : "");
        }

        double tolerance() {
            if (!Double.isNaN(given)) {
                return given;
            }
            if (matmul == MatmulPrecision.BF16 || chunk == ChunkPrecision.BF16 || state == StatePrecision.BF16) {
                return 1e-2;
            }
            return matmul == MatmulPrecision.FP32 ? 1e-4 : 1e-3;
        }
    }

    /** {@link #run(Path, int, String)} with the default modes. */
    public static int run(Path jsonFile, int layers) throws IOException {
        return run(jsonFile, layers, DEFAULT_MODES);
    }

    /**
     * Runs the table, printing it to stdout and writing JSON to {@code json} (may be null).
     *
     * @return 0, 1 when a parity gate failed (that precision is not timed), 3 when CUDA is unavailable
     */
    public static int run(Path jsonFile, int layers, String modes) throws IOException {
        List<Mode> list = new ArrayList<>();
        for (String m : modes.split(",")) {
            list.add(Mode.parse(m));
        }
        if (!CudaProbe.available()) {
            System.out.println("CUDA unavailable: " + CudaProbe.unavailableReason().orElse(""));
            return 3;
        }
        int code = 0;
        List<String> json = new ArrayList<>();
        ModelConfig c = RandomWeights.fla1b(layers);
        long t0 = System.nanoTime();
        ModelWeights w = RandomWeights.roundToBf16(RandomWeights.of(c, 1));
        GatedDeltaNetModel cpu = new GatedDeltaNetModel(c, w, CpuKernels.fast());
        System.out.printf(Locale.ROOT, "FLA-1B shape, %d layers, random weights ready in %.1f s%n", layers,
                (System.nanoTime() - t0) / 1e9);
        double copy;
        try (CudaDevice d = new CudaDevice(0)) {
            copy = CudaStepBench.copyBandwidth(d, 1L << 30);
            System.out.printf(Locale.ROOT, "device %s, driver %d; device-to-device copy: %.0f GB/s (read + write)%n",
                    d.architecture(), d.driverVersion(), copy / 1e9);
        }
        json.add(String.format(Locale.ROOT, "{\"what\":\"copy\",\"gbps\":%.1f}", copy / 1e9));
        int[] streamCounts = {1, 64, 256, 1024};
        for (Mode mode : list) {
            CudaForward engine = new CudaForward(new CudaDevice(0), cpu, mode.matmul(), mode.chunk(), mode.state(),
                    CudaForward.DEFAULT_MAX_ROWS_PER_PASS);
            String label = mode.label();
            try {
                GatedDeltaNetModel gpu = cpu.withEngine(engine);
                double tol = mode.tolerance();
                double err = CudaModelParity.logitsError(cpu, gpu);
                System.out.printf(Locale.ROOT, "%s: weights %.2f GiB on the GPU, memory per stream %.1f MiB; "
                        + "parity vs CPU logits %.2e (tolerance %.0e)%n", engine.name(),
                        engine.weightBytes() / (double) (1L << 30), engine.memoryBytesPerStream() / (double) (1 << 20),
                        err, tol);
                if (!(err <= tol)) {
                    System.out.println("PARITY FAILED for " + label + "; not timing");
                    code = 1;
                    json.add(String.format(Locale.ROOT, "{\"precision\":\"%s\",\"parity\":%.3e,\"failed\":true}",
                            label, err));
                    continue;
                }
                long free = engine.device().memoryInfo()[0];
                System.out.println("| precision | streams | tokens/stream | ms per call | tokens/s | state GB/s | % of copy |");
                // -Dgdn.bench.rows=64x64,256x64: only those rows (streams x tokens), e.g. under a profiler
                List<String> rowsOnly = List.of(System.getProperty("gdn.bench.rows", "").split(","));
                for (int t : new int[] {1, 64}) {
                    for (int n : streamCounts) {
                        if (!rowsOnly.get(0).isBlank() && !rowsOnly.contains(n + "x" + t)) {
                            continue;
                        }
                        if ((long) n * engine.memoryBytesPerStream() > free - (6L << 30)) {
                            System.out.printf(Locale.ROOT, "| %s | %d | %d | skipped: %.1f GiB of memories do not fit "
                                    + "next to the weights |%n", label, n, t,
                                    n * engine.memoryBytesPerStream() / (double) (1L << 30));
                            continue;
                        }
                        double ms = time(engine, n, t);
                        double tps = n * (double) t / (ms * 1e-3);
                        double stateBytes = 2.0 * n * engine.memoryBytesPerStream();
                        double gbps = stateBytes / (ms * 1e-3);
                        System.out.printf(Locale.ROOT, "| %s | %d | %d | %.3f | %.0f | %.0f | %.0f%% |%n", label, n, t,
                                ms, tps, gbps / 1e9, 100 * gbps / copy);
                        json.add(String.format(Locale.ROOT, "{\"precision\":\"%s\",\"streams\":%d,\"tokens\":%d,"
                                + "\"ms\":%.4f,\"tokens_per_s\":%.1f,\"state_gbps\":%.1f,\"copy_gbps\":%.1f,"
                                + "\"parity\":%.3e,\"bytes_per_stream\":%d}", label, n, t, ms, tps, gbps / 1e9,
                                copy / 1e9, err, engine.memoryBytesPerStream()));
                    }
                }
                // the engine contract the Flink operator uses: memories live on the host (keyed state) and
                // are copied in and out around every bundle
                for (int n : rowsOnly.get(0).isBlank() ? new int[] {8, 64} : new int[0]) {
                    double ms = timeHostMemories(gpu, n);
                    System.out.printf(Locale.ROOT, "| %s | %d | 1 | %.3f | %.0f | host memories copied in and out: "
                            + "%.1f GB/s of transfers |%n", label, n, ms, n / (ms * 1e-3),
                            2.0 * n * engine.memoryBytesPerStream() / (ms * 1e-3) / 1e9);
                    json.add(String.format(Locale.ROOT, "{\"precision\":\"%s\",\"streams\":%d,\"tokens\":1,"
                            + "\"path\":\"host memories\",\"ms\":%.4f}", label, n, ms));
                }
            } finally {
                engine.close();
            }
        }
        if (jsonFile != null) {
            Files.writeString(jsonFile, "[" + String.join(",\n", json) + "]\n");
        }
        return code;
    }

    /** Mean wall milliseconds of a one-token forward of {@code n} streams whose memories live on the host. */
    static double timeHostMemories(GatedDeltaNetModel gpu, int n) {
        List<StreamInput> batch = new ArrayList<>();
        Random r = new Random(n);
        for (int i = 0; i < n; i++) {
            batch.add(new StreamInput(gpu.newMemory(), new int[] {r.nextInt(gpu.config().vocabSize())}));
        }
        gpu.forward(batch, false);
        int iters = 3;
        long start = System.nanoTime();
        for (int i = 0; i < iters; i++) {
            gpu.forward(batch, false);
        }
        return (System.nanoTime() - start) / 1e6 / iters;
    }

    /** Mean wall milliseconds of one call advancing {@code n} resident streams by {@code t} tokens (LM head included). */
    static double time(CudaForward engine, int n, int t) {
        engine.reserve(n);
        Random r = new Random(n * 31L + t);
        int[] slots = new int[n];
        int[] offsets = new int[n + 1];
        for (int i = 0; i < n; i++) {
            slots[i] = i;
            offsets[i + 1] = offsets[i] + t;
        }
        int[] tokens = r.ints(n * t, 0, 32000).toArray();
        engine.advance(slots, offsets, tokens, true);
        engine.synchronize();
        int iters = (int) Math.max(3, Math.min(30, 20000 / (n * t)));
        long start = System.nanoTime();
        for (int i = 0; i < iters; i++) {
            engine.advance(slots, offsets, tokens, true);
        }
        engine.synchronize();
        return (System.nanoTime() - start) / 1e6 / iters;
    }
}
