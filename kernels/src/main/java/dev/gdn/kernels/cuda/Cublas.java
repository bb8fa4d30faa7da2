package dev.gdn.kernels.cuda;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;

/**
 * A cuBLAS handle on a device's primary context, computing {@code y = x W^T} for row-major
 * activations and PyTorch-layout weights. Not thread-safe: one caller at a time.
 */
final class Cublas implements AutoCloseable {
    private final CudaDevice device;
    private final cublasContext handle = new cublasContext();
    private final FloatPointer one = new FloatPointer(1).put(1f);
    private final FloatPointer zero = new FloatPointer(1).put(0f);

    /** Work goes to the device's launch stream; {@code workspace} (device bytes) keeps cuBLAS from allocating during graph capture. */
    Cublas(CudaDevice device, long workspace, long workspaceBytes) {
        this.device = device;
        device.bind();
        check("cublasCreate_v2", cublas.cublasCreate_v2(handle));
        check("cublasSetStream_v2", cublas.cublasSetStream_v2(handle, device.launchStream()));
        check("cublasSetWorkspace_v2", cublas.cublasSetWorkspace_v2(handle, new DevicePointer(workspace), workspaceBytes));
    }

    /**
     * {@code y = x W^T}.
     *
     * @param x       {@code [rows, in]} fp32 on the device
     * @param xBf16   x as {@code [rows, in]} bf16 (BF16) or split into {@code [2, rows, in]} bf16 parts
     *                (BF16_WEIGHTS)
     * @param parts   scratch of {@code 2 * rows * out} floats, used with BF16_WEIGHTS
     * @param w       {@code [out, in]}
     * @param y       {@code [rows, out]} fp32 on the device
     */
    void linear(long x, long xBf16, long parts, int rows, DeviceMatrix w, long y, CudaModelOps ops) {
        device.bind();
        int m = w.rows();
        int k = w.cols();
        // column-major view: y^T [out, rows] = W [out, in] . x^T [in, rows], with W stored as W^T [in, out]
        switch (w.precision()) {
            case FP32 -> check("cublasSgemm_v2", cublas.cublasSgemm_v2(handle, cublas.CUBLAS_OP_T, cublas.CUBLAS_OP_N,
                    m, rows, k, one, new FloatPointer(new DevicePointer(w.address())), k,
                    new FloatPointer(new DevicePointer(x)), k, zero, new FloatPointer(new DevicePointer(y)), m));
            case TF32 -> check("cublasGemmEx(tf32)", cublas.cublasGemmEx(handle, cublas.CUBLAS_OP_T,
                    cublas.CUBLAS_OP_N, m, rows, k, one, new DevicePointer(w.address()), cudart.CUDA_R_32F, k,
                    new DevicePointer(x), cudart.CUDA_R_32F, k, zero, new DevicePointer(y), cudart.CUDA_R_32F, m,
                    cublas.CUBLAS_COMPUTE_32F_FAST_TF32, cublas.CUBLAS_GEMM_DEFAULT));
            case BF16 -> check("cublasGemmEx(bf16)", cublas.cublasGemmEx(handle, cublas.CUBLAS_OP_T,
                    cublas.CUBLAS_OP_N, m, rows, k, one, new DevicePointer(w.address()), cudart.CUDA_R_16BF, k,
                    new DevicePointer(xBf16), cudart.CUDA_R_16BF, k, zero, new DevicePointer(y), cudart.CUDA_R_32F, m,
                    cublas.CUBLAS_COMPUTE_32F, cublas.CUBLAS_GEMM_DEFAULT));
            case BF16_WEIGHTS -> {
                // activations as hi + lo bf16 rows (already split by the caller): one product over
                // 2 * rows columns reads W once
                check("cublasGemmEx(bf16 split)", cublas.cublasGemmEx(handle, cublas.CUBLAS_OP_T, cublas.CUBLAS_OP_N, m,
                        2 * rows, k, one, new DevicePointer(w.address()), cudart.CUDA_R_16BF, k,
                        new DevicePointer(xBf16), cudart.CUDA_R_16BF, k, zero, new DevicePointer(parts),
                        cudart.CUDA_R_32F, m, cublas.CUBLAS_COMPUTE_32F, cublas.CUBLAS_GEMM_DEFAULT));
                ops.addHalves(parts, y, (long) rows * m);
            }
            default -> throw new IllegalStateException("precision " + w.precision());
        }
    }

    /**
     * {@code y = x W^T} with bf16 activations and weights, fp32 sums, y rounded to bf16: a bf16 PyTorch
     * layer's output (for products whose only reader wants bf16).
     *
     * @param xBf16 {@code [rows, in]} bf16 on the device
     * @param w     {@code [out, in]} in bf16
     * @param yBf16 {@code [rows, out]} bf16 on the device
     */
    void linearBf16(long xBf16, int rows, DeviceMatrix w, long yBf16) {
        if (w.precision() != MatmulPrecision.BF16) {
            throw new IllegalArgumentException("a bf16 output needs bf16 weights and activations, not "
                    + w.precision());
        }
        device.bind();
        check("cublasGemmEx(bf16 out)", cublas.cublasGemmEx(handle, cublas.CUBLAS_OP_T, cublas.CUBLAS_OP_N, w.rows(),
                rows, w.cols(), one, new DevicePointer(w.address()), cudart.CUDA_R_16BF, w.cols(),
                new DevicePointer(xBf16), cudart.CUDA_R_16BF, w.cols(), zero, new DevicePointer(yBf16),
                cudart.CUDA_R_16BF, w.rows(), cublas.CUBLAS_COMPUTE_32F, cublas.CUBLAS_GEMM_DEFAULT));
    }

    private static void check(String call, int status) {
        if (status != 0) {
            throw new CudaException(call + " failed: cuBLAS status " + status + " (" + statusName(status) + ")");
        }
    }

    private static String statusName(int s) {
        return switch (s) {
            case 1 -> "NOT_INITIALIZED";
            case 3 -> "ALLOC_FAILED";
            case 7 -> "INVALID_VALUE";
            case 8 -> "ARCH_MISMATCH";
            case 11 -> "MAPPING_ERROR";
            case 13 -> "EXECUTION_FAILED";
            case 14 -> "INTERNAL_ERROR";
            case 15 -> "NOT_SUPPORTED";
            default -> "see cublasStatus_t";
        };
    }

    @Override
    public void close() {
        device.bind();
        cublas.cublasDestroy_v2(handle);
        one.close();
        zero.close();
    }
}
