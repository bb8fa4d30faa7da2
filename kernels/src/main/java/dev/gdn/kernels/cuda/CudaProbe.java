package dev.gdn.kernels.cuda;

import java.util.Optional;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Loader;

/**
 * Whether CUDA can be used here, decided once per JVM: the JNI wrappers load against the machine's
 * CUDA 13 libraries, the driver initialises and reports at least one device. Missing libraries or
 * driver are caught here (never a JVM crash later) and reported as the reason.
 */
public final class CudaProbe {
    private static final Optional<String> UNAVAILABLE = probe();

    private CudaProbe() {
    }

    /** Empty when CUDA is usable, else why not. */
    public static Optional<String> unavailableReason() {
        return UNAVAILABLE;
    }

    public static boolean available() {
        return UNAVAILABLE.isEmpty();
    }

    /**
     * The reason for a failed load of the CUDA libraries, in one short line: a message such as "no
     * jnicudart in java.library.path: <every folder searched>" loses its folder list, which says nothing
     * useful and runs to hundreds of characters.
     */
    static String loadFailure(Throwable e) {
        String why = String.valueOf(e.getMessage()).replaceFirst("(java\\.library\\.path): .*", "$1");
        return "the CUDA 13 libraries or the driver could not be loaded (" + why + ")";
    }

    private static Optional<String> probe() {
        try {
            Loader.load(cudart.class);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            return Optional.of(loadFailure(e));
        }
        try {
            int rc = cudart.cuInit(0);
            if (rc != 0) {
                return Optional.of("cuInit failed: " + Cuda.errorName(rc));
            }
            int[] count = new int[1];
            rc = cudart.cuDeviceGetCount(count);
            if (rc != 0) {
                return Optional.of("cuDeviceGetCount failed: " + Cuda.errorName(rc));
            }
            if (count[0] == 0) {
                return Optional.of("no CUDA device");
            }
            return Optional.empty();
        } catch (UnsatisfiedLinkError e) {
            return Optional.of("the CUDA driver API is missing (" + e.getMessage() + ")");
        }
    }
}
