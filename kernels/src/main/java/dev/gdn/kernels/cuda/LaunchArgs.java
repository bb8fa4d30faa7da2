package dev.gdn.kernels.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Reusable host cells for kernel arguments, so that a launch allocates nothing: one 8-byte cell per
 * argument (device addresses, sizes, ints and floats in its low bytes, little-endian) and the array of
 * pointers to them that {@code cuLaunchKernel} reads. The driver copies the values at launch, so the
 * cells are free again as soon as {@link #launch} returns. One caller at a time.
 */
public final class LaunchArgs implements AutoCloseable {
    private static final int MAX = 24;

    private final CudaDevice device;
    private final LongPointer cells = new LongPointer(MAX);
    private final PointerPointer<Pointer> params = new PointerPointer<>(MAX);
    private int count;

    public LaunchArgs(CudaDevice device) {
        this.device = device;
        for (int i = 0; i < MAX; i++) {
            params.put(i, cells.getPointer(i));
        }
    }

    /** Starts a new argument list. */
    public LaunchArgs reset() {
        count = 0;
        return this;
    }

    /** A device address or a 64-bit size. */
    public LaunchArgs add(long value) {
        if (count == MAX) {
            throw new IllegalStateException("more than " + MAX + " kernel arguments");
        }
        cells.put(count++, value);
        return this;
    }

    public LaunchArgs addInt(int value) {
        return add(value & 0xffffffffL);
    }

    public LaunchArgs addFloat(float value) {
        return add(Float.floatToRawIntBits(value) & 0xffffffffL);
    }

    /** Launches {@code f} with the arguments added since {@link #reset()}. */
    public void launch(CUfunc_st f, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes) {
        device.bind();
        Cuda.check("cuLaunchKernel", cudart.cuLaunchKernel(f, gx, gy, gz, bx, by, bz, sharedBytes,
                device.launchStream(), params, null));
    }

    @Override
    public void close() {
        params.close();
        cells.close();
    }
}
