package dev.gdn.kernels.cuda;

import java.util.HashMap;
import java.util.Map;

/** Named device buffers reused across forward passes, reallocated only when a pass needs more. */
public final class DeviceScratch implements AutoCloseable {
    private final CudaDevice device;
    private final Map<String, Buffer> buffers = new HashMap<>();
    private long generation;

    /** A device allocation of {@code bytes} at {@code address}. */
    private record Buffer(long address, long bytes) {
    }

    DeviceScratch(CudaDevice device) {
        this.device = device;
    }

    /** A buffer of at least {@code bytes} (contents undefined). */
    public long get(String name, long bytes) {
        Buffer b = buffers.get(name);
        if (b != null && b.bytes() >= bytes) {
            return b.address();
        }
        if (b != null) {
            device.free(b.address());
        }
        generation++;
        long size = Math.max(256, bytes + bytes / 4);
        long a = device.allocate(size);
        buffers.put(name, new Buffer(a, size));
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
        for (Buffer b : buffers.values()) {
            device.free(b.address());
        }
        buffers.clear();
    }
}
