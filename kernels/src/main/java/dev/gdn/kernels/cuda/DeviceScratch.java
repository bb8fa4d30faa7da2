package dev.gdn.kernels.cuda;

import java.util.HashMap;
import java.util.Map;

/** Named device buffers reused across forward passes, reallocated only when a pass needs more. */
final class DeviceScratch implements AutoCloseable {
    private final CudaDevice device;
    private final Map<String, long[]> buffers = new HashMap<>(); // name -> {address, bytes}
    private long generation;

    DeviceScratch(CudaDevice device) {
        this.device = device;
    }

    /** A buffer of at least {@code bytes} (contents undefined). */
    long get(String name, long bytes) {
        long[] b = buffers.get(name);
        if (b != null && b[1] >= bytes) {
            return b[0];
        }
        if (b != null) {
            device.free(b[0]);
        }
        generation++;
        long size = Math.max(256, bytes + bytes / 4);
        long a = device.allocate(size);
        buffers.put(name, new long[] {a, size});
        return a;
    }

    /** Copies {@code values} into buffer {@code name}, returning its address. */
    long ints(String name, int[] values) {
        long a = get(name, 4L * values.length);
        device.upload(a, values);
        return a;
    }

    /** Changes whenever a buffer moves (a captured graph holding old addresses is then stale). */
    long generation() {
        return generation;
    }

    @Override
    public void close() {
        for (long[] b : buffers.values()) {
            device.free(b[0]);
        }
        buffers.clear();
    }
}
