package dev.gdn.kernels.cuda;

import dev.gdn.kernels.layers.mamba2.CudaMamba2Mixer;
import static dev.gdn.kernels.parity.RelativeError.of;

import dev.gdn.kernels.layers.mamba2.Mamba2Config;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Parity-gated timer of the Mamba2 selective scan on the GPU: the one-token step (state read and written
 * once per token, so its speed is a fraction of the copy bandwidth measured in the same run) and runs by
 * the recurrence and by the chunked kernel. Each shape is first checked against the CPU's exact
 * recurrence on a sample (step and recurrence 1e-5, chunked 1e-4). Prints a table; writes JSON to the
 * file given as the first argument.
 */
public final class CudaMamba2Bench {
    private CudaMamba2Bench() {
    }

    public static void main(String[] args) throws IOException {
        System.exit(run(args.length > 0 ? Path.of(args[0]) : null));
    }

    /** @return 0, 1 when a parity gate failed (nothing after it is timed), 3 when CUDA is unavailable */
    public static int run(Path json) throws IOException {
        return CudaStepBench.withJson(json, CudaMamba2Bench::run);
    }

    private static int run(List<String> json) {
        if (!CudaProbe.available()) {
            System.out.println("CUDA unavailable: " + CudaProbe.unavailableReason().orElse(""));
            return 3;
        }
        try (CudaDevice dev = new CudaDevice(0)) {
            double copy = CudaStepBench.copyBandwidth(dev, 1L << 30);
            System.out.printf(Locale.ROOT, "device %s, driver %d; device-to-device copy: %.0f GB/s (read + write)%n",
                    dev.architecture(), dev.driverVersion(), copy / 1e9);
            json.add(String.format(Locale.ROOT, "{\"what\":\"copy\",\"bytes\":%d,\"gbps\":%.1f}", 1L << 30, copy / 1e9));
            // {streams, H, P, N, G, tokens per stream}: h2-tiny's layer, and a Mamba2-1.3B-sized layer
            // (d_model 2048, expand 2: H=64 heads of P=64, N=128)
            int[][] shapes = {{1024, 8, 32, 16, 1, 1}, {256, 64, 64, 128, 1, 1}, {1024, 64, 64, 128, 1, 1},
                {64, 64, 64, 128, 1, 64}, {8, 64, 64, 128, 1, 4096}};
            System.out.println("| streams | H | P | N | tokens/stream | form | parity y / state | ms | state GB/s "
                    + "| % of copy | M tokens/s |");
            for (int[] s : shapes) {
                Mamba2Config cfg = new Mamba2Config(Set.of(0), s[1], s[2], s[3], s[4], 4, true, 1e-5f);
                CudaMamba2Mixer.Kernels k = CudaMamba2Mixer.Kernels.compile(dev, cfg);
                List<String> forms = s[5] == 1 ? List.of("step") : List.of("recurrent", "chunked");
                for (String form : forms) {
                    int chunkFrom = form.equals("chunked") ? 1 : 0;
                    int[] sample = new int[4];
                    java.util.Arrays.fill(sample, Math.min(s[5], 150));
                    CudaMamba2Harness h = new CudaMamba2Harness(cfg, sample, 3);
                    float[][] ref = h.reference();
                    float[][] got = h.gpu(dev, k, chunkFrom);
                    double ey = of(got[0], ref[0]).value();
                    double es = of(got[1], ref[1]).value();
                    double tol = chunkFrom > 0 ? 1e-4 : 1e-5;
                    if (!(ey <= tol && es <= tol)) {
                        System.out.printf(Locale.ROOT, "PARITY FAILED for %s %s: y %.2e state %.2e; not timing%n",
                                cfg, form, ey, es);
                        return 1;
                    }
                    int[] lengths = new int[s[0]];
                    java.util.Arrays.fill(lengths, s[5]);
                    CudaMamba2Harness big = new CudaMamba2Harness(cfg, lengths, 5);
                    long[] owned = new long[11];
                    CudaMamba2Mixer.ScanArrays a = big.upload(dev, k, owned);
                    Runnable launch = chunkFrom > 0 ? () -> k.chunked(a, s[0], 1)
                            : () -> k.scan(a, s[0], 1, Integer.MAX_VALUE);
                    for (int i = 0; i < 3; i++) {
                        launch.run();
                    }
                    double ms = CudaStepBench.timed(dev, s[5] > 1000 ? 5 : 20, launch);
                    for (long p : owned) {
                        if (p != 0) {
                            dev.free(p);
                        }
                    }
                    double bytes = 2.0 * 4 * s[0] * (double) cfg.stateFloats();
                    double gbps = bytes / (ms * 1e-3);
                    double mtps = s[0] * (double) s[5] / (ms * 1e-3) / 1e6;
                    System.out.printf(Locale.ROOT, "| %d | %d | %d | %d | %d | %s | %.1e / %.1e | %.3f | %.0f | %.0f%% "
                            + "| %.2f |%n", s[0], s[1], s[2], s[3], s[5], form, ey, es, ms, gbps / 1e9, 100 * gbps / copy,
                            mtps);
                    json.add(String.format(Locale.ROOT, "{\"streams\":%d,\"H\":%d,\"P\":%d,\"N\":%d,\"T\":%d,"
                            + "\"form\":\"%s\",\"parity_y\":%.2e,\"parity_state\":%.2e,\"ms\":%.4f,\"gbps\":%.1f,"
                            + "\"fraction_of_copy\":%.3f,\"mtok_s\":%.3f}", s[0], s[1], s[2], s[3], s[5], form, ey, es, ms,
                            gbps / 1e9, gbps / copy, mtps));
                }
                k.args().close();
            }
        }
        return 0;
    }
}
