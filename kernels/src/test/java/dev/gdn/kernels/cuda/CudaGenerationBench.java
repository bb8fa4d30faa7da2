package dev.gdn.kernels.cuda;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.GenerationSettings;
import dev.gdn.kernels.model.Generator;
import dev.gdn.kernels.model.ModelWeights;
import dev.gdn.kernels.model.RandomWeights;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Generated tokens per second on the GPU for 1, 64, 256 and 1,024 concurrent generations (FLA-1B shape,
 * random bf16-rounded weights), each forked on the device from a resident stream that has read a
 * 16-token prompt, 64 greedy tokens each (the stream's own slot untouched). Gate first: on a 2-layer
 * model of the same shape, the GPU's generations (greedy and seeded top-k, with and without a prompt)
 * must equal the CPU's token for token. Ceiling in the same run: the engine's resident one-token step of
 * the same number of streams with the LM head and the device's top-1 (the per-token work of a greedy
 * generation without the generator around it), as tokens per second.
 *
 * <p>Arguments: {@code [out.json] [layers] [MATMUL+CHUNK,...]} (21 layers and bf16+bf16,fp32+fp32 by
 * default).
 */
public final class CudaGenerationBench {
    private static final int PROMPT = 16;
    private static final int TOKENS = 64;

    private CudaGenerationBench() {
    }

    public static void main(String[] args) throws IOException {
        Path json = args.length > 0 ? Path.of(args[0]) : null;
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 21;
        String modes = args.length > 2 ? args[2] : "bf16+bf16,fp32+fp32";
        System.exit(run(json, layers, modes));
    }

    /** @return 0, 1 when the gate failed (nothing timed), 3 when CUDA is unavailable */
    public static int run(Path jsonFile, int layers, String modes) throws IOException {
        if (!CudaProbe.available()) {
            System.out.println("CUDA unavailable: " + CudaProbe.unavailableReason().orElse(""));
            return 3;
        }
        List<String> json = new ArrayList<>();
        if (!gate()) {
            return 1;
        }
        ModelConfig c = RandomWeights.fla1b(layers);
        ModelWeights w = RandomWeights.roundToBf16(RandomWeights.of(c, 1));
        GatedDeltaNetModel cpu = new GatedDeltaNetModel(c, w, CpuKernels.fast());
        System.out.println("| precision | generations | tokens each | ms | generated tokens/s | ceiling: one-token step "
                + "tokens/s | % of ceiling |");
        for (String m : modes.split(",")) {
            CudaModelBench.Mode mode = CudaModelBench.Mode.parse(m);
            CudaForward engine = new CudaForward(new CudaDevice(0), cpu, mode.matmul(), mode.chunk(),
                    CudaForward.DEFAULT_MAX_ROWS_PER_PASS);
            try {
                GatedDeltaNetModel gpu = cpu.withEngine(engine);
                for (int n : new int[] {1, 64, 256, 1024}) {
                    long need = 2L * n * engine.memoryBytesPerStream() + (3L << 30);
                    if (need > engine.device().memoryInfo()[0]) {
                        System.out.printf(Locale.ROOT, "| %s | %d | skipped: %.1f GiB needed |%n", mode.label(), n,
                                need / (double) (1L << 30));
                        continue;
                    }
                    double[] ms2 = time(gpu, n);
                    double ms = ms2[0];
                    double tps = (double) n * TOKENS / (ms * 1e-3);
                    double ceiling = n / (ms2[1] * 1e-3);
                    System.out.printf(Locale.ROOT, "| %s | %d | %d | %.1f | %.0f | %.0f | %.0f%% |%n", mode.label(), n,
                            TOKENS, ms, tps, ceiling, 100 * tps / ceiling);
                    json.add(String.format(Locale.ROOT, "{\"precision\":\"%s\",\"generations\":%d,\"tokens\":%d,"
                            + "\"ms\":%.3f,\"tokens_per_s\":%.1f,\"ceiling_tokens_per_s\":%.1f}", mode.label(), n,
                            TOKENS, ms, tps, ceiling));
                }
            } finally {
                engine.close();
            }
        }
        if (jsonFile != null) {
            Files.writeString(jsonFile, "[" + String.join(",\n", json) + "]\n");
        }
        return 0;
    }

    /**
     * Milliseconds of one call generating {@link #TOKENS} greedy tokens for each of {@code n} forks, and
     * of one scored one-token step of the {@code n} source streams (the per-token work of a generation,
     * without the generator).
     */
    private static double[] time(GatedDeltaNetModel gpu, int n) {
        Random r = new Random(n);
        try (ResidentStreams source = gpu.residentStreams(n); Generator g = new Generator(gpu)) {
            int[] slots = new int[n];
            int[] offsets = new int[n + 1];
            for (int i = 0; i < n; i++) {
                slots[i] = i;
                offsets[i + 1] = offsets[i] + PROMPT;
                source.load(i, gpu.newMemory());
            }
            source.advance(slots, offsets, r.ints(n * PROMPT, 0, gpu.config().vocabSize()).toArray());
            List<Generator.SlotRequest> warm = new ArrayList<>();
            List<Generator.SlotRequest> timed = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                warm.add(new Generator.SlotRequest(i, new int[0], GenerationSettings.greedy(3)));
                timed.add(new Generator.SlotRequest(i, new int[0], GenerationSettings.greedy(TOKENS)));
            }
            g.generate(source, warm); // work slots allocated, graphs for n streams captured
            long t0 = System.nanoTime();
            List<Generator.Result> out = g.generate(source, timed);
            double ms = (System.nanoTime() - t0) / 1e6;
            for (Generator.Result res : out) {
                if (res.ids().length != TOKENS) {
                    throw new IllegalStateException("a generation ended after " + res.ids().length + " tokens");
                }
            }
            int[] one = java.util.stream.IntStream.rangeClosed(0, n).toArray();
            int[] rows = java.util.stream.IntStream.range(0, n).toArray();
            int[] targets = new int[n];
            java.util.Arrays.fill(targets, -1);
            boolean[] want = new boolean[n];
            java.util.Arrays.fill(want, true);
            ResidentStreams.ScoreRows top1 = new ResidentStreams.ScoreRows(rows, targets, want, 1);
            int[] tokens = r.ints(n, 0, gpu.config().vocabSize()).toArray();
            source.advanceScored(slots, one, tokens, top1, false);
            int iters = 20;
            long t1 = System.nanoTime();
            for (int i = 0; i < iters; i++) {
                source.advanceScored(slots, one, tokens, top1, false);
            }
            return new double[] {ms, (System.nanoTime() - t1) / 1e6 / iters};
        }
    }

    /** GPU generations = CPU generations on a 2-layer FLA-1B-shaped model (fp32 products). */
    private static boolean gate() {
        ModelConfig c = RandomWeights.fla1b(2);
        GatedDeltaNetModel cpu = new GatedDeltaNetModel(c, RandomWeights.roundToBf16(RandomWeights.of(c, 2)),
                CpuKernels.fast());
        try (CudaForward engine = new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, 4096)) {
            GatedDeltaNetModel gpu = cpu.withEngine(engine);
            Random r = new Random(7);
            List<Generator.Request> requests = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                StreamMemory m = cpu.newMemory();
                int len = 3 + 5 * i;
                float[] hidden = cpu.forward(List.of(new StreamInput(m, r.ints(len, 0, c.vocabSize()).toArray())), false)
                        .hidden();
                m.setLastHidden(java.util.Arrays.copyOfRange(hidden, (len - 1) * c.hiddenSize(), len * c.hiddenSize()));
                int[] prompt = i == 3 ? new int[0] : r.ints(1 + 4 * i, 0, c.vocabSize()).toArray();
                GenerationSettings s = i == 2 ? new GenerationSettings(8, 0.8, 20, 1.0, 11L, List.of())
                        : GenerationSettings.greedy(8);
                requests.add(new Generator.Request(m, prompt, s));
            }
            List<Generator.Result> onCpu;
            List<Generator.Result> onGpu;
            try (Generator gc = new Generator(cpu); Generator gg = new Generator(gpu)) {
                onCpu = gc.generate(requests);
                onGpu = gg.generate(requests);
            }
            boolean same = true;
            for (int i = 0; i < requests.size(); i++) {
                same &= java.util.Arrays.equals(onCpu.get(i).ids(), onGpu.get(i).ids());
                System.out.printf(Locale.ROOT, "gate %d: cpu %s gpu %s%n", i,
                        java.util.Arrays.toString(onCpu.get(i).ids()), java.util.Arrays.toString(onGpu.get(i).ids()));
            }
            System.out.println(same ? "gate: GPU generations equal the CPU's" : "GATE FAILED: not timing");
            return same;
        }
    }
}
