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
        slots[slot] = m.copy();
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
    public boolean hasLastHidden(int slot) {
        return loaded(slot).lastHidden() != null;
    }

    @Override
    public void reset(int slot) {
        if (slots[slot] == null) {
            slots[slot] = model.newMemory();
        } else {
            slots[slot].reset();
        }
    }

    @Override
    public Scored advanceScored(int[] slots, int[] offsets, int[] tokens, ScoreRows score, boolean hostHidden) {
        int n = slots.length;
        int d = model.config().hiddenSize();
        List<StreamInput> batch = new ArrayList<>(n);
        float[][] before = new float[n][];
        for (int i = 0; i < n; i++) {
            StreamMemory m = loaded(slots[i]);
            before[i] = m.lastHidden();
            if (offsets[i + 1] > offsets[i]) {
                // a stream without tokens rides along only to have its last hidden state scored
                batch.add(new StreamInput(m, java.util.Arrays.copyOfRange(tokens, offsets[i], offsets[i + 1])));
            }
        }
        float[] hidden = batch.isEmpty() ? new float[0] : model.forward(batch, false).hidden();
        int r = score.rows();
        float[] rows = new float[Math.multiplyExact(r, d)];
        for (int i = 0; i < r; i++) {
            int s = score.sources()[i];
            if (s >= 0) {
                System.arraycopy(hidden, s * d, rows, i * d, d);
            } else if (before[-s - 1] != null) {
                System.arraycopy(before[-s - 1], 0, rows, i * d, d);
            } else {
                throw new IllegalArgumentException("row " + i + " asks for the last hidden state of stream " + (-s - 1)
                        + " (slot " + slots[-s - 1] + "), which has none");
            }
        }
        RowScores scores = model.scoreRows(rows, 0, r, score.targets(), score.want(), score.k());
        for (int i = 0; i < n; i++) {
            if (offsets[i + 1] > offsets[i]) {
                loaded(slots[i]).setLastHidden(java.util.Arrays.copyOfRange(hidden, (offsets[i + 1] - 1) * d,
                        offsets[i + 1] * d));
            }
        }
        return new Scored(scores, hostHidden ? hidden : null);
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
