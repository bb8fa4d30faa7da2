package dev.gdn.kernels.cuda;

import dev.gdn.kernels.deltarule.DeltaRuleShape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Every compile unit the CUDA engine can build on a Hopper GPU (sm_90, 228 KiB of shared memory a
 * multiprocessor): each kernel source with each set of compile definitions the engine's own choice
 * functions give ({@link CudaRecurrentGatedDeltaRule#options}, {@link CudaChunkedGatedDeltaRule#tensorCoreOptions}
 * with every layout {@code RecurLayout.choose} picks, {@link CudaMamba2Mixer.Kernels#options},
 * {@link CudaModelOps#options}), over the head shapes that exercise every branch of those choices.
 *
 * <p>{@link #main} compiles them all with {@code nvcc} (no GPU needed): a kernel that no longer compiles
 * in some layout is found on any machine with the CUDA toolkit, not on the first GPU run that picks it.
 */
public final class KernelBuilds {
    /** Shared memory a multiprocessor of an H100 or H200 (sm_90) offers: 228 KiB. */
    public static final int HOPPER_SHARED_PER_SM = 228 * 1024;

    /** Key dims: the demo models (64), the FLA fixtures' op case (100), FLA's 340M/1B heads (128, 256). */
    public static final int[] KEY_DIMS = {64, 100, 128, 256};

    /** One compile unit: a kernel source (as NVRTC gets it, headers inlined) and its definitions. */
    public record Build(String resource, List<String> options) {
        public String file() {
            return resource.substring(resource.lastIndexOf('/') + 1);
        }

        @Override
        public String toString() {
            return file() + " " + String.join(" ", options);
        }
    }

    private KernelBuilds() {
    }

    /** Every distinct build for a device with {@code sharedPerSm} bytes of shared memory a multiprocessor. */
    public static List<Build> all(int sharedPerSm) {
        Map<String, Build> builds = new LinkedHashMap<>();
        for (StatePrecision state : StatePrecision.values()) {
            for (int k : KEY_DIMS) {
                DeltaRuleShape shape = new DeltaRuleShape(1, 1, k, 128);
                add(builds, CudaRecurrentGatedDeltaRule.SOURCE, CudaRecurrentGatedDeltaRule.options(shape, state));
                if (CudaChunkedGatedDeltaRule.supports(shape, ChunkPrecision.FP32)) {
                    add(builds, CudaChunkedGatedDeltaRule.SIMT_SOURCE, CudaChunkedGatedDeltaRule.simtOptions(k, state));
                }
                for (ChunkPrecision p : ChunkPrecision.values()) {
                    if (!p.tensorCores()) {
                        continue;
                    }
                    for (int tile : new int[] {16, 32, 64}) {
                        if (CudaChunkedGatedDeltaRule.supports(shape, p, tile)) {
                            add(builds, CudaChunkedGatedDeltaRule.TC_SOURCE,
                                    CudaChunkedGatedDeltaRule.tensorCoreOptions(k, p, tile, state, sharedPerSm));
                        }
                    }
                }
            }
        }
        for (dev.gdn.kernels.layers.LayerKind kind : dev.gdn.kernels.layers.LayerKinds.all()) {
            kind.cuda().ifPresent(c -> c.builds(sharedPerSm).forEach(b -> builds.putIfAbsent(b.toString(), b)));
        }
        for (int width : new int[] {2, 4}) {
            add(builds, CudaModelOps.SOURCE, CudaModelOps.options(width));
        }
        return List.copyOf(builds.values());
    }

    private static void add(Map<String, Build> builds, String resource, String[] options) {
        Build b = new Build(resource, List.of(options));
        builds.putIfAbsent(b.toString(), b);
    }

    /**
     * Compiles every build of {@link #all} with nvcc for sm_90, {@code jobs} at a time, and prints one line
     * per build; exit status 1 when any failed (its compiler output printed), 2 on bad arguments.
     *
     * <p>Arguments: {@code [--nvcc PATH] [--arch sm_90] [--jobs N] [--list] [--keep DIR]}; with {@code --keep}
     * each build's CUBIN is kept in DIR as {@code <index>.cubin} (the index in {@code --list}'s order), for
     * comparing the machine code of two versions of a source that should compile alike.
     */
    public static void main(String[] args) throws Exception {
        String nvcc = "nvcc";
        String arch = "sm_90";
        int jobs = Math.max(1, Runtime.getRuntime().availableProcessors());
        boolean list = false;
        Path keep = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--nvcc" -> nvcc = args[++i];
                case "--arch" -> arch = args[++i];
                case "--jobs" -> jobs = Integer.parseInt(args[++i]);
                case "--list" -> list = true;
                case "--keep" -> keep = Path.of(args[++i]);
                default -> {
                    System.err.println("error: unknown argument '" + args[i]
                            + "' (expected --nvcc, --arch, --jobs, --list, --keep)");
                    System.exit(2);
                }
            }
        }
        List<Build> builds = all(HOPPER_SHARED_PER_SM);
        if (list) {
            builds.forEach(System.out::println);
            return;
        }
        List<String> failed = compileAll(builds, nvcc, arch, jobs, keep);
        System.out.println("kernel builds: " + (builds.size() - failed.size()) + " of " + builds.size()
                + " compiled for " + arch);
        if (!failed.isEmpty()) {
            failed.forEach(System.out::println);
            System.exit(1);
        }
    }

    /**
     * Compiles {@code builds} with {@code nvcc} for {@code arch} into a temporary folder (removed after).
     *
     * @return the failures, each the build and the compiler's output; empty when all compiled
     */
    public static List<String> compileAll(List<Build> builds, String nvcc, String arch, int jobs)
            throws IOException, InterruptedException {
        return compileAll(builds, nvcc, arch, jobs, null);
    }

    /** {@link #compileAll(List, String, String, int)}, each CUBIN kept as {@code keep/<index>.cubin} when {@code keep} is not null. */
    public static List<String> compileAll(List<Build> builds, String nvcc, String arch, int jobs, Path keep)
            throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("gdn-kernel-builds");
        try {
            Map<String, Path> sources = new LinkedHashMap<>();
            for (Build b : builds) {
                if (!sources.containsKey(b.resource())) {
                    Path src = dir.resolve(b.file());
                    Files.writeString(src, CudaDevice.source(b.resource()), StandardCharsets.UTF_8);
                    sources.put(b.resource(), src);
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(jobs);
            try {
                List<Future<String>> results = new ArrayList<>();
                for (int i = 0; i < builds.size(); i++) {
                    Build b = builds.get(i);
                    Path out = dir.resolve(i + ".cubin");
                    results.add(pool.submit(() -> compile(nvcc, arch, sources.get(b.resource()), out, b)));
                }
                List<String> failed = new ArrayList<>();
                for (int i = 0; i < builds.size(); i++) {
                    String error = results.get(i).get();
                    if (error != null) {
                        failed.add(builds.get(i) + "\n" + error);
                    } else if (keep != null) {
                        Files.createDirectories(keep);
                        Files.copy(dir.resolve(i + ".cubin"), keep.resolve(i + ".cubin"),
                                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                }
                return failed;
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IOException("running " + nvcc + " failed: " + e.getCause().getMessage(), e.getCause());
            } finally {
                pool.shutdownNow();
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Null when it compiled, else the compiler's output. */
    private static String compile(String nvcc, String arch, Path source, Path out, Build b)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(Arrays.asList(nvcc, "--cubin", "-arch=" + arch, "-std=c++17", "-o",
                out.toString()));
        cmd.addAll(b.options());
        cmd.add(source.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        // its output is read to the end, so the process has closed it and is finishing
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.waitFor() == 0 ? null : String.join(" ", cmd) + "\n" + output.strip();
    }
}
