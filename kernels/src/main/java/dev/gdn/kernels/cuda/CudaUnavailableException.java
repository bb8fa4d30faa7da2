package dev.gdn.kernels.cuda;

/** The CUDA backend was asked for where it cannot work; the message is the reason. */
public final class CudaUnavailableException extends CudaException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String reason) {
        super(reason);
    }
}
