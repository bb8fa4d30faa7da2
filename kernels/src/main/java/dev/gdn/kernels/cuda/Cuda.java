package dev.gdn.kernels.cuda;

import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.BytePointer;

/** Error checking for driver and NVRTC calls. */
final class Cuda {
    private Cuda() {
    }

    /** @throws CudaException naming {@code call} and the error when {@code rc} is not CUDA_SUCCESS */
    static void check(String call, int rc) {
        if (rc != 0) {
            throw new CudaException(call + " failed: " + errorName(rc) + " (" + rc + ")");
        }
    }

    /** @throws CudaException naming {@code call} and the error when {@code rc} is not NVRTC_SUCCESS */
    static void checkNvrtc(String call, int rc) {
        if (rc != 0) {
            throw new CudaException(call + " failed: " + nvrtc.nvrtcGetErrorString(rc).getString());
        }
    }

    static String errorName(int rc) {
        BytePointer p = new BytePointer((BytePointer) null);
        try {
            if (cudart.cuGetErrorString(rc, p) == 0 && !p.isNull()) {
                return p.getString();
            }
        } catch (UnsatisfiedLinkError ignored) {
            // the driver is not there to name its own error
        }
        return "CUDA error " + rc;
    }
}
