package dev.gdn.kernels.cuda;

/** A CUDA driver or NVRTC call that failed: names the call and the error. */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
