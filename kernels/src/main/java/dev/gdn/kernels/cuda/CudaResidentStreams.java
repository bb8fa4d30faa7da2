package dev.gdn.kernels.cuda;

import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.StreamMemory;

/**
 * Stream memories resident in GPU memory: a device pool of its own (the same per-stream layout as the
 * host's), advanced in place by the whole-model pass. Tokens consumed are counted on the host per slot.
 */
final class CudaResidentStreams implements ResidentStreams {
    private final CudaForward engine;
    private final CudaMemoryPool pool;
    private final long[] tokens;
    private final StreamMemory shape;

    /** @param shape a memory of the model's layout (copied for every {@link #store}) */
    CudaResidentStreams(CudaForward engine, StreamMemory shape, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.engine = engine;
        this.pool = engine.newPool(capacity);
        this.tokens = new long[capacity];
        this.shape = shape;
    }

    @Override
    public int capacity() {
        return tokens.length;
    }

    @Override
    public long bytesPerSlot() {
        return pool.bytesPerSlot();
    }

    @Override
    public void load(int slot, StreamMemory m) {
        engine.loadSlot(pool, slot, m);
        tokens[slot] = m.tokensConsumed();
    }

    @Override
    public StreamMemory store(int slot) {
        StreamMemory m = shape.copy();
        engine.storeSlot(pool, slot, m);
        m.setTokensConsumed(tokens[slot]);
        return m;
    }

    @Override
    public StreamMemory[] storeAll(int[] slots) {
        StreamMemory[] out = new StreamMemory[slots.length];
        java.util.stream.IntStream.range(0, slots.length).parallel().forEach(i -> out[i] = shape.copy());
        engine.storeSlots(pool, slots, out);
        for (int i = 0; i < slots.length; i++) {
            out[i].setTokensConsumed(tokens[slots[i]]);
        }
        return out;
    }

    @Override
    public void reset(int slot) {
        engine.clearSlot(pool, slot);
        tokens[slot] = 0;
    }

    @Override
    public float[] advance(int[] slots, int[] offsets, int[] tokens) {
        float[] hidden = engine.advanceIn(pool, slots, offsets, tokens);
        for (int n = 0; n < slots.length; n++) {
            this.tokens[slots[n]] += offsets[n + 1] - offsets[n];
        }
        return hidden;
    }

    @Override
    public void close() {
        engine.closePool(pool);
    }
}
