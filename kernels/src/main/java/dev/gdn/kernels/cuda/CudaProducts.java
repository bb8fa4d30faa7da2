package dev.gdn.kernels.cuda;

/**
 * The matrix products of a pass in the engine's {@link MatmulPrecision}: activations are prepared once
 * ({@link #prepare}: split or rounded to bf16 when the precision asks for it) and shared by every product
 * that reads them ({@link #linear}). Device work on the default stream; one caller at a time.
 */
public final class CudaProducts {
    private final CudaDevice device;
    private final MatmulPrecision precision;
    private final Cublas blas;
    private final CudaModelOps ops;
    private final DeviceScratch scratch;
    /** The activations of the last {@link #prepare}. */
    private long prepared;
    /** Activations whose bf16 copy a kernel was asked to write ({@link #bf16Output}), until prepared. */
    private long written;

    CudaProducts(CudaDevice device, MatmulPrecision precision, Cublas blas, CudaModelOps ops, DeviceScratch scratch) {
        this.device = device;
        this.precision = precision;
        this.blas = blas;
        this.ops = ops;
        this.scratch = scratch;
    }

    public MatmulPrecision precision() {
        return precision;
    }

    /** Uploads a weight matrix {@code w [rows, cols]} in this precision. */
    public DeviceMatrix matrix(float[] w, int rows, int cols) {
        return DeviceMatrix.upload(device, w, rows, cols, precision);
    }

    /**
     * Gets activations x {@code [rows, cols]} ready for the products that follow: with bf16 weights,
     * splits them once into bf16 parts shared by every product of x until the next call.
     */
    public void prepare(long x, int rows, int cols) {
        prepared = x;
        if (x == written) {
            written = 0;
            return;
        }
        written = 0;
        if (precision == MatmulPrecision.BF16) {
            ops.toBf16(x, scratch.get("bf16", 4L * rows * cols), (long) rows * cols);
        } else if (precision == MatmulPrecision.BF16_WEIGHTS) {
            ops.toBf16Split(x, scratch.get("bf16", 4L * rows * cols), (long) rows * cols);
        }
    }

    /**
     * Where the kernel that computes activations x {@code [rows, cols]} should write them rounded to bf16
     * (the operand of this precision's products), so that {@link #prepare} of x has nothing left to do; 0
     * where this precision needs no such copy (fp32 and TF32 read x, the split one splits it). The copy
     * must be written before the next {@link #prepare} of x, and nothing else prepared in between.
     */
    public long bf16Output(long x, int rows, int cols) {
        if (precision != MatmulPrecision.BF16) {
            return 0;
        }
        written = x;
        return scratch.get("bf16", 4L * rows * cols);
    }

    /** Whether {@link #linearRounded} is this precision's form of a product read only as bf16. */
    boolean roundsOutputs() {
        return precision == MatmulPrecision.BF16;
    }

    /**
     * {@code y [rows, w.rows] = x W^T} rounded to bf16 ({@code yBf16}, 2 bytes an element) for the
     * activations x of the last {@link #prepare}: with bf16 products only ({@link #roundsOutputs}), where
     * the product's only reader takes bf16 (as a bf16 PyTorch layer hands on its output).
     */
    void linearRounded(long x, int rows, DeviceMatrix w, long yBf16) {
        if (x != prepared) {
            throw new IllegalStateException("activations not prepared for the product");
        }
        blas.linearBf16(scratch.get("bf16", 4L * rows * w.cols()), rows, w, yBf16);
    }

    /** {@code y [rows, w.rows] = x W^T} for the activations x of the last {@link #prepare}. */
    public void linear(long x, int rows, DeviceMatrix w, long y) {
        if (x != prepared) {
            throw new IllegalStateException("activations not prepared for the product");
        }
        long xb = 0;
        long parts = 0;
        if (precision.bf16Weights()) {
            xb = scratch.get("bf16", 4L * rows * w.cols());
        }
        if (precision == MatmulPrecision.BF16_WEIGHTS) {
            parts = scratch.get("bf16parts", 8L * rows * w.rows());
        }
        blas.linear(x, xb, parts, rows, w, y, ops);
    }
}
