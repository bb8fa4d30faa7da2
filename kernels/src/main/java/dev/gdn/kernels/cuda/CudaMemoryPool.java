package dev.gdn.kernels.cuda;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.LayerKind;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.StreamMemory;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Stream memories resident on the GPU: for every layer, one device array per part with a slot per
 * stream, in the same per-stream layout as the host's {@link StreamMemory} (so a slot is filled and
 * read back with one copy per part):
 * <ul>
 *   <li>Gated DeltaNet layer: {@code state [slots, HV, K, V]}, {@code convQ, convK [slots, W-1, H*K]},
 *       {@code convV [slots, W-1, HV*V]}</li>
 *   <li>attention layer: {@code keys, values [slots, Wnd, Hkv*Dh]} ring buffers, and each slot's
 *       position on the host</li>
 *   <li>Mamba2 layer: {@code ssm [slots, H, P, N]}, {@code conv [slots, Kc-1, I+2GN]}</li>
 * </ul>
 */
public final class CudaMemoryPool implements AutoCloseable {
    private final CudaDevice device;
    private final CudaModelOps ops;
    /** Device buffer of {@link #DOWNLOAD_CHUNK} slots of the largest part, for gathers and scatters. */
    private long packed;
    private final ModelConfig c;
    private static final java.util.concurrent.atomic.AtomicLong GENERATIONS = new java.util.concurrent.atomic.AtomicLong();
    private int capacity;
    private long generation;
    /** Per layer: device addresses of its parts (delta: state, convQ, convK, convV; attention: keys, values; Mamba2: ssm, conv). */
    private long[][] parts;
    /** Per layer: floats of each part per slot. */
    private final long[][] partFloats;
    /** Per layer: whether each part is held in bf16 on the device. */
    private final boolean[][] bf16Parts;
    /** Per attention layer: the position of each slot. */
    private long[][] positions;
    private Staging staging;
    private final StatePrecision state;

    CudaMemoryPool(CudaDevice device, CudaModelOps ops, ModelConfig c, int capacity) {
        this(device, ops, c, capacity, StatePrecision.FP32);
    }

    /** With the Gated DeltaNet layers' states in {@code state} precision. */
    CudaMemoryPool(CudaDevice device, CudaModelOps ops, ModelConfig c, int capacity, StatePrecision state) {
        this.device = device;
        this.ops = ops;
        this.c = c;
        this.state = state;
        this.partFloats = new long[c.numLayers()][];
        this.bf16Parts = new boolean[c.numLayers()][];
        for (int l = 0; l < c.numLayers(); l++) {
            LayerKind kind = LayerKinds.of(c, l);
            CudaLayer cuda = kind.cuda().orElseThrow(() -> new IllegalArgumentException(kind.label()
                    + " layers have no CUDA kernels"));
            // sizes count 4-byte units (a bf16 state takes half the room)
            partFloats[l] = cuda.partFloats(c, state);
            bf16Parts[l] = new boolean[partFloats[l].length];
            for (int p = 0; p < bf16Parts[l].length; p++) {
                bf16Parts[l][p] = cuda.bf16Part(p, state);
            }
        }
        allocate(Math.max(1, capacity));
    }

    int capacity() {
        return capacity;
    }

    /** Device bytes of one stream's memory. */
    long bytesPerSlot() {
        long n = 0;
        for (long[] p : partFloats) {
            for (long f : p) {
                n += 4 * f;
            }
        }
        return n;
    }

    /** Makes room for at least {@code slots} streams; the contents of every slot are lost when it grows. */
    void ensureCapacity(int slots) {
        if (slots > capacity) {
            release();
            allocate(slots);
        }
    }

    /** Device address of part {@code part} of layer {@code layer} (all slots). */
    public long part(int layer, int part) {
        return parts[layer][part];
    }

    long position(int layer, int slot) {
        return positions[layer][slot];
    }

    void advance(int layer, int slot, long tokens) {
        positions[layer][slot] += tokens;
    }

    /** Zeroes a slot: the memory of a stream that has seen nothing. */
    void clear(int slot) {
        for (int l = 0; l < parts.length; l++) {
            for (int p = 0; p < parts[l].length; p++) {
                if (partFloats[l][p] > 0) {
                    device.zero(parts[l][p] + 4 * slot * partFloats[l][p], partFloats[l][p]);
                }
            }
            if (positions[l] != null) {
                positions[l][slot] = 0;
            }
        }
    }

    /** Zeroes several slots: per round of {@link #DOWNLOAD_CHUNK} slots, one kernel per part. */
    void clearAll(int[] slots) {
        for (int slot : slots) {
            checkSlot(slot);
        }
        if (zeroPart == 0) {
            long max = largestPart();
            zeroPart = device.allocate(4L * Math.max(1, max));
            device.zero(zeroPart, Math.max(1, max));
            zeroRows = device.allocate(4L * DOWNLOAD_CHUNK);
            device.zero(zeroRows, DOWNLOAD_CHUNK);
        }
        for (int c0 = 0; c0 < slots.length; c0 += DOWNLOAD_CHUNK) {
            int n = Math.min(DOWNLOAD_CHUNK, slots.length - c0);
            setRows(java.util.Arrays.copyOfRange(slots, c0, c0 + n));
            for (int l = 0; l < parts.length; l++) {
                for (int p = 0; p < parts[l].length; p++) {
                    if (partFloats[l][p] > 0) {
                        ops.copyRows(zeroPart, zeroRows, parts[l][p], gatherRows, n, (int) partFloats[l][p]);
                    }
                }
                if (positions[l] != null) {
                    for (int i = 0; i < n; i++) {
                        positions[l][slots[c0 + i]] = 0;
                    }
                }
            }
        }
    }

    /** A zeroed part and zero row indices, for {@link #clearAll}. */
    private long zeroPart;
    private long zeroRows;

    /** Streams copied per round by {@link #downloadSlots} (its pinned staging holds that many of the largest part). */
    private static final int DOWNLOAD_CHUNK = 32;

    /**
     * Copies {@code slots} back into {@code mems} (same order), positions included: per part, a round of
     * device-to-host copies into pinned staging (one per slot), then the host copies in parallel.
     */
    void downloadSlots(int[] slots, StreamMemory[] mems) {
        downloadSlots(slots, mems, null, (from, to) -> { });
    }

    /** Called as each round of {@link #downloadSlots} completes: memories {@code [from, to)} are whole. */
    interface RoundDone {
        void done(int from, int to);
    }

    /**
     * {@link #downloadSlots(int[], StreamMemory[])} with the device-to-host copies queued on {@code stream}
     * (null: synchronous on the legacy default stream) and {@code done} told of each finished round of
     * {@link #DOWNLOAD_CHUNK} memories.
     */
    void downloadSlots(int[] slots, StreamMemory[] mems, org.bytedeco.cuda.cudart.CUstream_st stream, RoundDone done) {
        for (int slot : slots) {
            checkSlot(slot);
        }
        int chunk = Math.max(1, Math.min(DOWNLOAD_CHUNK, slots.length));
        Staging s = staging(chunk);
        for (int c0 = 0; c0 < slots.length; c0 += chunk) {
            int n = Math.min(chunk, slots.length - c0);
            int first = c0;
            if (!consecutive(slots, c0, n) && stream == null) {
                setRows(java.util.Arrays.copyOfRange(slots, c0, c0 + n));
            }
            for (int l = 0; l < parts.length; l++) {
                for (int p = 0; p < parts[l].length; p++) {
                    long per = partFloats[l][p];
                    if (per == 0) {
                        continue;
                    }
                    s.buffer.position(0);
                    long src;
                    if (consecutive(slots, c0, n)) {
                        src = parts[l][p] + 4L * slots[c0] * per;
                    } else if (stream == null) {
                        // scattered slots: gathered on the device first, then one copy down
                        src = packed();
                        ops.copyRows(parts[l][p], gatherRows, src, identityRows, n, (int) per);
                    } else {
                        throw new IllegalArgumentException("a copy-stream download takes consecutive slots");
                    }
                    if (stream == null) {
                        device.download(s.buffer, src, 4L * per * n);
                    } else {
                        device.downloadAsync(s.buffer, src, 4L * per * n, stream);
                        device.synchronize(stream);
                    }
                    int layer = l;
                    int part = p;
                    IntStream.range(0, n).parallel().forEach(i -> {
                        float[] dst = array(mems[first + i], layer, part);
                        fromStaging(s.buffer, i * per, dst, bf16(layer, part));
                    });
                }
                if (positions[l] != null) {
                    for (int i = 0; i < n; i++) {
                        LayerMemory lm = mems[c0 + i].layer(l);
                        lm.advancePosition(positions[l][slots[c0 + i]] - lm.position());
                    }
                }
            }
            done.done(first, first + n);
        }
    }

    /**
     * Copies {@code slots[i]} of this pool into slot {@code i} of {@code shadow} (a pool of the same model
     * with at least that many slots), positions included: device-to-device on the legacy default stream,
     * so after every kernel queued before and before every kernel queued after. Consecutive slots are
     * copied together.
     */
    void copySlotsTo(int[] slots, CudaMemoryPool shadow) {
        for (int slot : slots) {
            checkSlot(slot);
        }
        if (shadow.capacity < slots.length) {
            throw new IllegalArgumentException("shadow of " + shadow.capacity + " slots for " + slots.length);
        }
        long shadowSrc = 0;
        long shadowDst = 0;
        if (slots.length > 0 && !consecutive(slots, 0, slots.length)) {
            shadowSrc = device.allocate(4L * slots.length);
            shadowDst = device.allocate(4L * slots.length);
            device.upload(shadowSrc, slots);
            device.upload(shadowDst, java.util.stream.IntStream.range(0, slots.length).toArray());
        }
        try {
            copyInto(slots, shadow, shadowSrc, shadowDst);
        } finally {
            if (shadowSrc != 0) {
                device.synchronize();
                device.free(shadowSrc);
                device.free(shadowDst);
            }
        }
    }

    private void copyInto(int[] slots, CudaMemoryPool shadow, long shadowSrc, long shadowDst) {
        for (int l = 0; l < parts.length; l++) {
            for (int p = 0; p < parts[l].length; p++) {
                long per = partFloats[l][p];
                if (per == 0) {
                    continue;
                }
                if (consecutive(slots, 0, slots.length)) {
                    device.copy(shadow.parts[l][p], parts[l][p] + 4L * slots[0] * per, 4L * per * slots.length);
                } else {
                    ops.copyRows(parts[l][p], shadowSrc, shadow.parts[l][p], shadowDst, slots.length, (int) per);
                }
            }
            if (positions[l] != null) {
                for (int i = 0; i < slots.length; i++) {
                    shadow.positions[l][i] = positions[l][slots[i]];
                }
            }
        }
    }

    private static boolean consecutive(int[] slots, int from, int n) {
        for (int i = 1; i < n; i++) {
            if (slots[from + i] != slots[from] + i) {
                return false;
            }
        }
        return true;
    }

    /** Device rows {@code [chunk]} of the current gather or scatter, and {@code 0 .. chunk-1}. */
    private long gatherRows;
    private long identityRows;

    /** Uploads {@code rows} as the current gather/scatter rows (at most {@link #DOWNLOAD_CHUNK}). */
    private void setRows(int[] rows) {
        if (gatherRows == 0) {
            gatherRows = device.allocate(4L * DOWNLOAD_CHUNK);
            identityRows = device.allocate(4L * DOWNLOAD_CHUNK);
            device.upload(identityRows, java.util.stream.IntStream.range(0, DOWNLOAD_CHUNK).toArray());
        }
        device.upload(gatherRows, rows);
    }

    /** The device buffer for a chunk of the largest part, allocated on first use. */
    private long packed() {
        if (packed == 0) {
            packed = device.allocate(4L * largestPart() * DOWNLOAD_CHUNK);
        }
        return packed;
    }

    /**
     * Copies {@code mems} into {@code slots} (same order), positions included: per round of
     * {@link #DOWNLOAD_CHUNK} memories and part, the host copies into pinned staging in parallel, one copy
     * up and (for scattered slots) one scatter on the device.
     */
    void uploadSlots(int[] slots, StreamMemory[] mems) {
        for (int slot : slots) {
            checkSlot(slot);
        }
        int chunk = Math.max(1, Math.min(DOWNLOAD_CHUNK, slots.length));
        Staging s = staging(chunk);
        for (int c0 = 0; c0 < slots.length; c0 += chunk) {
            int n = Math.min(chunk, slots.length - c0);
            int first = c0;
            boolean together = consecutive(slots, c0, n);
            if (!together) {
                setRows(java.util.Arrays.copyOfRange(slots, c0, c0 + n));
            }
            for (int l = 0; l < parts.length; l++) {
                for (int p = 0; p < parts[l].length; p++) {
                    long per = partFloats[l][p];
                    if (per == 0) {
                        continue;
                    }
                    int layer = l;
                    int part = p;
                    IntStream.range(0, n).parallel().forEach(i -> {
                        float[] src = array(mems[first + i], layer, part);
                        toStaging(s.buffer, i * per, src, bf16(layer, part));
                    });
                    s.buffer.position(0);
                    if (together) {
                        device.upload(parts[l][p] + 4L * slots[c0] * per, s.buffer, 4L * per * n);
                    } else {
                        device.upload(packed(), s.buffer, 4L * per * n);
                        ops.copyRows(packed(), identityRows, parts[l][p], gatherRows, n, (int) per);
                    }
                }
                if (positions[l] != null) {
                    for (int i = 0; i < n; i++) {
                        positions[l][slots[c0 + i]] = mems[c0 + i].layer(l).position();
                    }
                }
            }
            // the scatters read the staging's copy on the device before the next round overwrites it
            device.synchronize();
        }
    }

    /** Makes this pool's pinned staging ready for {@link #downloadSlots} of up to {@code streams} streams. */
    void prepareStaging(int streams) {
        staging(Math.max(1, Math.min(DOWNLOAD_CHUNK, streams)));
    }

    private void checkSlot(int slot) {
        if (slot < 0 || slot >= capacity) {
            throw new IllegalArgumentException("slot " + slot + " is outside [0, " + capacity + ")");
        }
    }

    /** Copies memories {@code mems} into slots {@code 0 .. mems.length - 1}. */
    void upload(StreamMemory[] mems) {
        {
            Staging s = staging(mems.length);
            for (int l = 0; l < parts.length; l++) {
                for (int p = 0; p < parts[l].length; p++) {
                    long per = partFloats[l][p];
                    if (per == 0) {
                        continue;
                    }
                    int layer = l;
                    int part = p;
                    // host copies in parallel, one view of the staging buffer per stream
                    IntStream.range(0, mems.length).parallel().forEach(i -> {
                        float[] src = array(mems[i], layer, part);
                        toStaging(s.buffer, i * per, src, bf16(layer, part));
                    });
                    s.buffer.position(0);
                    device.upload(parts[l][p], s.buffer, 4L * per * mems.length);
                }
                if (positions[l] != null) {
                    for (int i = 0; i < mems.length; i++) {
                        positions[l][i] = mems[i].layer(l).position();
                    }
                }
            }
        }
    }

    /** Copies slots {@code 0 .. mems.length - 1} back into {@code mems}, positions included. */
    void download(StreamMemory[] mems) {
        {
            Staging s = staging(mems.length);
            for (int l = 0; l < parts.length; l++) {
                for (int p = 0; p < parts[l].length; p++) {
                    long per = partFloats[l][p];
                    if (per == 0) {
                        continue;
                    }
                    s.buffer.position(0);
                    device.download(s.buffer, parts[l][p], 4L * per * mems.length);
                    int layer = l;
                    int part = p;
                    IntStream.range(0, mems.length).parallel().forEach(i -> {
                        float[] dst = array(mems[i], layer, part);
                        fromStaging(s.buffer, i * per, dst, bf16(layer, part));
                    });
                }
                if (positions[l] != null) {
                    for (int i = 0; i < mems.length; i++) {
                        LayerMemory lm = mems[i].layer(l);
                        lm.advancePosition(positions[l][i] - lm.position());
                    }
                }
            }
        }
    }

    /** Whether part {@code part} of layer {@code layer} is held in bf16 (a Gated DeltaNet state with bf16 states). */
    private boolean bf16(int layer, int part) {
        return bf16Parts[layer][part];
    }

    /** Puts {@code src} into the staging at {@code at} 4-byte units: as is, or rounded to bf16 pairs. */
    private static void toStaging(FloatPointer buffer, long at, float[] src, boolean bf16) {
        if (!bf16) {
            new FloatPointer(buffer).position(at).put(src, 0, src.length);
            return;
        }
        short[] h = new short[src.length];
        for (int i = 0; i < h.length; i++) {
            h[i] = dev.gdn.kernels.io.HalfFloats.floatToBf16(src[i]);
        }
        new org.bytedeco.javacpp.ShortPointer(buffer).position(2 * at).put(h, 0, h.length);
    }

    /** Reads {@code dst} from the staging at {@code at} 4-byte units: as is, or widened from bf16. */
    private static void fromStaging(FloatPointer buffer, long at, float[] dst, boolean bf16) {
        if (!bf16) {
            new FloatPointer(buffer).position(at).get(dst, 0, dst.length);
            return;
        }
        short[] h = new short[dst.length];
        new org.bytedeco.javacpp.ShortPointer(buffer).position(2 * at).get(h, 0, h.length);
        for (int i = 0; i < h.length; i++) {
            dst[i] = dev.gdn.kernels.io.HalfFloats.bf16ToFloat(h[i]);
        }
    }

    /** Part {@code part} of layer {@code layer} of {@code m}, in its kind's order (the pool's parts follow it). */
    private static float[] array(StreamMemory m, int layer, int part) {
        return m.layer(layer).parts()[part];
    }

    /** Floats of the largest part of one slot. */
    private long largestPart() {
        long max = 0;
        for (long[] p : partFloats) {
            for (long f : p) {
                max = Math.max(max, f);
            }
        }
        return max;
    }

    /** Page-locked host memory for the largest part of {@code streams} streams, kept between calls. */
    private Staging staging(int streams) {
        long need = Math.max(1, largestPart() * streams);
        if (staging == null || staging.floats < need) {
            if (staging != null) {
                device.freeHost(staging.buffer);
            }
            staging = new Staging(device.allocateHost(need), need);
        }
        staging.buffer.position(0);
        return staging;
    }

    private record Staging(FloatPointer buffer, long floats) {
    }

    /** Changes whenever the parts move. */
    long generation() {
        return generation;
    }

    private void allocate(int slots) {
        // unique across pools: a CUDA graph captured over one pool's addresses never replays over another's
        generation = GENERATIONS.incrementAndGet();
        capacity = slots;
        parts = new long[partFloats.length][];
        positions = new long[partFloats.length][];
        for (int l = 0; l < partFloats.length; l++) {
            parts[l] = new long[partFloats[l].length];
            for (int p = 0; p < parts[l].length; p++) {
                if (partFloats[l][p] > 0) {
                    parts[l][p] = device.allocate(4L * partFloats[l][p] * slots);
                    device.zero(parts[l][p], partFloats[l][p] * slots);
                }
            }
            positions[l] = LayerKinds.of(c, l).positioned() ? new long[slots] : null;
        }
    }

    private void release() {
        for (long[] layer : parts) {
            for (long a : layer) {
                if (a != 0) {
                    device.free(a);
                }
            }
        }
    }

    @Override
    public void close() {
        release();
        for (long a : new long[] {packed, gatherRows, identityRows, zeroPart, zeroRows}) {
            if (a != 0) {
                device.free(a);
            }
        }
        packed = 0;
        zeroPart = 0;
        zeroRows = 0;
        gatherRows = 0;
        identityRows = 0;
        if (staging != null) {
            device.freeHost(staging.buffer);
            staging = null;
        }
    }
}
