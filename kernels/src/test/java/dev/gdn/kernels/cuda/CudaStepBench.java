package dev.gdn.kernels.cuda;

import static dev.gdn.kernels.parity.RelativeError.of;

import dev.gdn.kernels.deltarule.DeltaRuleShape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Random;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.LongPointer;

/**
 * Parity-gated timer of the CUDA one-token step on the FLA benchmark shapes: each shape is first
 * checked against the reference on a sample of streams (1e-5), then timed with CUDA events; the
 * device-to-device copy bandwidth is measured in the same run. Prints a table; writes JSON to the
 * file given as the first argument.
 */
public final class CudaStepBench {
    private CudaStepBench() {
    }

    public static void main(String[] args) throws IOException {
        System.exit(run(args.length > 0 ? Path.of(args[0]) : null));
    }

    /**
     * Runs the table, printing it to stdout and writing JSON to {@code json} (may be null).
     *
     * @return 0, 1 when a parity gate failed (nothing after it is timed), 3 when CUDA is unavailable
     */
    public static int run(Path json) throws IOException {
        return withJson(json, CudaStepBench::run);
    }

    /** Runs {@code table} (which adds its JSON rows and returns an exit code) and writes the rows to {@code json} (may be null). */
    static int withJson(Path json, java.util.function.ToIntFunction<List<String>> table) throws IOException {
        List<String> rows = new ArrayList<>();
        int code = table.applyAsInt(rows);
        if (json != null) {
            Files.writeString(json, "[" + String.join(",\n", rows) + "]\n");
        }
        return code;
    }

    private static int run(List<String> json) {
        if (!CudaProbe.available()) {
            System.out.println("CUDA unavailable: " + CudaProbe.unavailableReason().orElse(""));
            return 3;
        }
        try (CudaDevice d = new CudaDevice(0)) {
            double copy = copyBandwidth(d, 1L << 30);
            System.out.printf(Locale.ROOT, "device %s, driver %d; device-to-device copy: %.0f GB/s (read + write)%n",
                    d.architecture(), d.driverVersion(), copy / 1e9);
            json.add(String.format(Locale.ROOT, "{\"what\":\"copy\",\"bytes\":%d,\"gbps\":%.1f}", 1L << 30, copy / 1e9));
            int[][] shapes = {{256, 16, 128, 128, 1}, {1024, 16, 128, 128, 1}, {512, 6, 256, 512, 1},
                {256, 16, 128, 128, 64}, {64, 6, 256, 512, 64},
                {8, 16, 128, 128, 4096}, {4, 6, 256, 512, 8192}};
            System.out.println("| N | H | K | V | tokens/stream | form | parity o / state | ms | state GB/s "
                    + "| % of copy | M tokens/s |");
            // -Dgdn.bench.shapes=3,4 and -Dgdn.bench.forms=bf16,recurrent: a part of the table
            String only = System.getProperty("gdn.bench.shapes", "");
            String formsOnly = System.getProperty("gdn.bench.forms", "");
            for (int si = 0; si < shapes.length; si++) {
                int[] s = shapes[si];
                if (!only.isBlank() && !java.util.Arrays.asList(only.split(",")).contains(Integer.toString(si))) {
                    continue;
                }
                DeltaRuleShape shape = new DeltaRuleShape(s[1], s[1], s[2], s[3]);
                long c0 = System.nanoTime();
                CudaRecurrentGatedDeltaRule step = new CudaRecurrentGatedDeltaRule(d, shape);
                Map<String, CudaChunkedGatedDeltaRule> chunks = new java.util.LinkedHashMap<>();
                if (s[4] > 1) {
                    for (ChunkPrecision p : ChunkPrecision.values()) {
                        if (!formsOnly.isBlank() && java.util.Arrays.stream(formsOnly.split(","))
                                .noneMatch(("chunk " + p.label())::contains)) {
                            continue;
                        }
                        chunks.put("chunk " + p.label(), new CudaChunkedGatedDeltaRule(d, shape, p));
                        // -Dgdn.bench.variants="16;64 -DRECUR_WARPS=16": the tensor-core forms with other tile
                        // widths and compile definitions too
                        for (String variant : System.getProperty("gdn.bench.variants", "").split(";")) {
                            String[] parts = variant.trim().split("\\s+");
                            if (variant.isBlank() || !p.tensorCores()
                                    || !CudaChunkedGatedDeltaRule.supports(shape, p, Integer.parseInt(parts[0]))) {
                                continue;
                            }
                            try {
                                chunks.put("chunk " + p.label() + " [" + variant.trim() + "]",
                                        new CudaChunkedGatedDeltaRule(d, shape, p, StatePrecision.FP32,
                                                Integer.parseInt(parts[0]),
                                                java.util.Arrays.copyOfRange(parts, 1, parts.length)));
                            } catch (IllegalArgumentException e) {
                                System.out.println("variant [" + variant.trim() + "] skipped for " + shape + " "
                                        + p.label() + ": " + e.getMessage());
                            }
                        }
                    }
                }
                System.out.printf(Locale.ROOT, "kernels for K=%d ready in %.1f s (NVRTC compile or disk cache)%n", s[2],
                        (System.nanoTime() - c0) / 1e9);
                // parity on a sample of the same shape; the double-precision reference is slow, so long
                // prefills are checked on their first 200 tokens (four chunks of 64 with a partial one)
                int[] lengths = new int[4];
                java.util.Arrays.fill(lengths, Math.min(s[4], 200));
                CudaStepHarness sample = new CudaStepHarness(shape, lengths, 3);
                float[][] ref = sample.reference();
                List<String> forms = new ArrayList<>(List.of("recurrent"));
                forms.addAll(chunks.keySet());
                if (!formsOnly.isBlank()) {
                    forms.removeIf(f -> java.util.Arrays.stream(formsOnly.split(",")).noneMatch(f::contains));
                }
                for (String form : forms) {
                    CudaChunkedGatedDeltaRule chunk = chunks.get(form);
                    float[][] got = chunk != null ? sample.gpuChunked(d, chunk) : sample.gpu(d, step, s[4] == 1);
                    double tol = chunk == null ? 1e-5 : chunk.precision() == ChunkPrecision.BF16 ? 1e-2 : 1e-4;
                    double eo = of(got[0], ref[0]).value();
                    double es = of(got[1], ref[1]).value();
                    if (!(eo <= tol && es <= tol)) {
                        System.out.printf(Locale.ROOT, "PARITY FAILED for %s %s: o %.2e state %.2e; not timing%n", shape,
                                form, eo, es);
                        return 1;
                    }
                    double ms = time(d, shape, s[0], s[4], a -> {
                        if (chunk != null) {
                            chunk.run(a, s[0], s[0] * s[4], s[4], scaleOf(shape), 1);
                        } else if (s[4] == 1) {
                            step.step(a, s[0], scaleOf(shape));
                        } else {
                            step.run(a, s[0], scaleOf(shape));
                        }
                    });
                    String stages = "";
                    if (chunk != null && chunk.precision().tensorCores()) {
                        double prep = time(d, shape, s[0], s[4],
                                a -> chunk.run(a, s[0], s[0] * s[4], s[4], scaleOf(shape), 1, true, false));
                        boolean[] prepared = {false};
                        double rec = time(d, shape, s[0], s[4], a -> {
                            // the first (warm-up) call prepares the scratch the timed recurrences read
                            chunk.run(a, s[0], s[0] * s[4], s[4], scaleOf(shape), 1, !prepared[0], true);
                            prepared[0] = true;
                        });
                        stages = String.format(Locale.ROOT, " (prepare %.3f + recurrence %.3f)", prep, rec);
                    }
                    double bytes = 2.0 * 4 * s[0] * (double) shape.stateSize();
                    double gbps = bytes / (ms * 1e-3);
                    double mtps = s[0] * (double) s[4] / (ms * 1e-3) / 1e6;
                    System.out.printf(Locale.ROOT, "| %d | %d | %d | %d | %d | %s | %.1e / %.1e | %.3f%s | %.0f | %.0f%% "
                            + "| %.2f |%n", s[0], s[1], s[2], s[3], s[4], form, eo, es, ms, stages, gbps / 1e9,
                            100 * gbps / copy, mtps);
                    json.add(String.format(Locale.ROOT, "{\"N\":%d,\"H\":%d,\"K\":%d,\"V\":%d,\"T\":%d,"
                            + "\"form\":\"%s\",\"parity_o\":%.2e,\"parity_state\":%.2e,\"ms\":%.4f,\"gbps\":%.1f,"
                            + "\"fraction_of_copy\":%.3f,\"mtok_s\":%.3f}", s[0], s[1], s[2], s[3], s[4], form, eo, es,
                            ms, gbps / 1e9, gbps / copy, mtps));
                }
                chunks.values().forEach(CudaChunkedGatedDeltaRule::close);
            }
        } finally {
            inputsKey = null; // the last row's inputs (up to a GiB) are not kept past the table
            inputs = null;
        }
        return 0;
    }

    static float scaleOf(DeltaRuleShape shape) {
        return (float) (1 / Math.sqrt(shape.keyDim()));
    }

    /** The random inputs of the last shape timed (one set for every form of a row). */
    private static String inputsKey;
    private static float[][] inputs;

    /**
     * Mean milliseconds of {@code launch} over {@code streams} streams of {@code t} random tokens; it gets
     * the device arrays.
     */
    static double time(CudaDevice d, DeltaRuleShape shape, int streams, int t,
            java.util.function.Consumer<DeltaRuleArrays> launch) {
        Random r = new Random(1);
        int n = streams * t;
        long dq = d.allocate(4L * n * shape.qkRowSize());
        long dk = d.allocate(4L * n * shape.qkRowSize());
        long dv = d.allocate(4L * n * shape.vRowSize());
        long dg = d.allocate(4L * n * shape.valueHeads());
        long db = d.allocate(4L * n * shape.valueHeads());
        long ds = d.allocate(4L * streams);
        long doff = d.allocate(4L * (streams + 1));
        long dp = d.allocate(4L * streams * shape.stateSize());
        long dout = d.allocate(4L * n * shape.vRowSize());
        String key = shape + " " + streams + "x" + t;
        if (!key.equals(inputsKey)) { // the same inputs for every form of a row (made once: long prefills are big)
            inputsKey = key;
            inputs = null;
            inputs = new float[][] {CudaStepHarness.unitRows(r, n * shape.heads(), shape.keyDim()),
                CudaStepHarness.unitRows(r, n * shape.heads(), shape.keyDim()),
                CudaStepHarness.gaussian(r, n * shape.vRowSize(), 1f)};
        }
        d.upload(dq, inputs[0]);
        d.upload(dk, inputs[1]);
        d.upload(dv, inputs[2]);
        float[] g = new float[n * shape.valueHeads()];
        java.util.Arrays.fill(g, -0.01f);
        d.upload(dg, g);
        float[] b = new float[g.length];
        java.util.Arrays.fill(b, 0.5f);
        d.upload(db, b);
        int[] slots = new int[streams];
        int[] offsets = new int[streams + 1];
        for (int i = 0; i < streams; i++) {
            slots[i] = i;
            offsets[i + 1] = offsets[i] + t;
        }
        d.upload(ds, slots);
        d.upload(doff, offsets);
        DeltaRuleArrays a = new DeltaRuleArrays(dq, dk, dv, dg, db, doff, ds, dp, dout);
        for (int i = 0; i < 3; i++) {
            launch.accept(a);
        }
        double ms = timed(d, t > 1000 ? 5 : 20, () -> launch.accept(a));
        for (long p : new long[] {dq, dk, dv, dg, db, ds, doff, dp, dout}) {
            d.free(p);
        }
        return ms;
    }

    static double copyBandwidth(CudaDevice d, long bytes) {
        long src = d.allocate(bytes);
        long dst = d.allocate(bytes);
        CUfunc_st copy = d.function("/dev/gdn/kernels/cuda/gated_delta_rule_recurrent.cu", "copy_floats", "-DK_DIM=128");
        long n4 = bytes / 16;
        Runnable run = () -> d.launch(copy, new int[] {16 * d.multiprocessors(), 1, 1}, new int[] {512, 1, 1},
                new LongPointer(1).put(src), new LongPointer(1).put(dst), new LongPointer(1).put(n4));
        for (int i = 0; i < 3; i++) {
            run.run();
        }
        double ms = timed(d, 20, run);
        return 2.0 * bytes / (ms * 1e-3);
    }

    /** Mean milliseconds of {@code iters} launches, by CUDA events. */
    static double timed(CudaDevice d, int iters, Runnable launch) {
        CUevent_st start = new CUevent_st();
        CUevent_st end = new CUevent_st();
        Cuda.check("cuEventCreate", cudart.cuEventCreate(start, 0));
        Cuda.check("cuEventCreate", cudart.cuEventCreate(end, 0));
        d.synchronize();
        Cuda.check("cuEventRecord", cudart.cuEventRecord(start, null));
        for (int i = 0; i < iters; i++) {
            launch.run();
        }
        Cuda.check("cuEventRecord", cudart.cuEventRecord(end, null));
        Cuda.check("cuEventSynchronize", cudart.cuEventSynchronize(end));
        float[] ms = new float[1];
        Cuda.check("cuEventElapsedTime", cudart.cuEventElapsedTime(ms, start, end));
        cudart.cuEventDestroy(start);
        cudart.cuEventDestroy(end);
        return ms[0] / iters;
    }
}
