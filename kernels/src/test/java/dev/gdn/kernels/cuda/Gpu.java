package dev.gdn.kernels.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The guard of every GPU test: skips where CUDA is unavailable, printing the reason once per JVM. */
final class Gpu {
    private static boolean told;

    private Gpu() {
    }

    static synchronized void require() {
        if (!told) {
            told = true;
            CudaProbe.unavailableReason().ifPresent(r -> System.out.println("skipping GPU tests: CUDA unavailable: " + r));
        }
        assumeTrue(CudaProbe.available(), () -> "CUDA unavailable: " + CudaProbe.unavailableReason().orElse(""));
    }
}
