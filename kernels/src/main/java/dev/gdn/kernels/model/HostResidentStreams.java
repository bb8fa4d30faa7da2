package dev.gdn.kernels.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Resident streams as host copies, advanced by the model's own forward pass: the CPU form of
 * {@link ResidentStreams} (and the fallback for engines without a resident form of their own).
 */
final class HostResidentStreams implements ResidentStreams {
    private final GatedDeltaNetModel model;
    private final StreamMemory[] slots;
    private final long bytesPerSlot;

    HostResidentStreams(GatedDeltaNetModel model, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.model = model;
        this.slots = new StreamMemory[capacity];
        this.bytesPerSlot = model.newMemory().payloadBytes();
    }

    @Override
    public int capacity() {
        return slots.length;
    }

    @Override
    public long bytesPerSlot() {
        return bytesPerSlot;
    }

    @Override
    public void load(int slot, StreamMemory m) {
        StreamMemory c = m.copy();
        c.setLastHidden(null);
        slots[slot] = c;
    }

    @Override
    public StreamMemory store(int slot) {
        return loaded(slot).copy();
    }

    @Override
    public StreamMemory[] storeAll(int[] slots) {
        StreamMemory[] out = new StreamMemory[slots.length];
        java.util.stream.IntStream.range(0, slots.length).parallel().forEach(i -> out[i] = loaded(slots[i]).copy());
        return out;
    }

    @Override
    public void reset(int slot) {
        loaded(slot).reset();
    }

    @Override
    public float[] advance(int[] slots, int[] offsets, int[] tokens) {
        List<StreamInput> batch = new ArrayList<>(slots.length);
        for (int n = 0; n < slots.length; n++) {
            batch.add(new StreamInput(loaded(slots[n]), java.util.Arrays.copyOfRange(tokens, offsets[n], offsets[n + 1])));
        }
        return model.forward(batch, false).hidden();
    }

    private StreamMemory loaded(int slot) {
        StreamMemory m = slots[slot];
        if (m == null) {
            throw new IllegalStateException("slot " + slot + " holds no memory");
        }
        return m;
    }

    @Override
    public void close() {
        java.util.Arrays.fill(slots, null);
    }
}
