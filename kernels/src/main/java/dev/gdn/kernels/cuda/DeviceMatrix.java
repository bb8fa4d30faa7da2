package dev.gdn.kernels.cuda;

import dev.gdn.kernels.io.HalfFloats;

/**
 * A weight matrix {@code [rows, cols]} (PyTorch's {@code [out, in]}) held on the device in fp32 or
 * bfloat16.
 *
 * @param address   device address
 * @param rows      out
 * @param cols      in
 * @param precision how it is stored and multiplied
 */
public record DeviceMatrix(long address, int rows, int cols, MatmulPrecision precision) {

    /** Uploads {@code w} ({@code [rows, cols]}), rounding to bfloat16 when the precision asks for it. */
    static DeviceMatrix upload(CudaDevice d, float[] w, int rows, int cols, MatmulPrecision p) {
        if ((long) rows * cols != w.length) {
            throw new IllegalArgumentException("weight has " + w.length + " floats, expected [" + rows + ", " + cols + "]");
        }
        if (p.bf16Weights()) {
            short[] h = new short[w.length];
            for (int i = 0; i < w.length; i++) {
                h[i] = HalfFloats.floatToBf16(w[i]);
            }
            long a = d.allocate(2L * w.length);
            d.upload(a, h);
            return new DeviceMatrix(a, rows, cols, p);
        }
        long a = d.allocate(4L * w.length);
        d.upload(a, w);
        return new DeviceMatrix(a, rows, cols, p);
    }
}
