package dev.gdn.kernels.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Resident streams as host copies, advanced by the model's own forward pass: the CPU form of
 * {@link ResidentStreams} (and the fallback for engines without a resident form of their own).
 *
 * <p>Copy on write: {@link #store} hands out the slot's memory object itself and marks the slot; the
 * object is never changed here again (the slot takes a copy before its next advance or reset). A
 * checkpoint's write-back of many slots therefore copies nothing at the barrier; each stream pays its
 * copy when it next runs, and an evicted stream (its slot loaded with another) never does.
 */
final class HostResidentStreams implements ResidentStreams {
    private final GatedDeltaNetModel model;
    private final StreamMemory[] slots;
    /** Slots whose memory object was handed out by {@link #store}: it is the caller's now. */
    private final boolean[] handedOut;
    private final long bytesPerSlot;

    HostResidentStreams(GatedDeltaNetModel model, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.model = model;
        this.slots = new StreamMemory[capacity];
        this.handedOut = new boolean[capacity];
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
        handedOut[slot] = false;
    }

    /** The slot's memory object itself, from now on the caller's (see the class comment). */
    @Override
    public StreamMemory store(int slot) {
        StreamMemory m = loaded(slot);
        handedOut[slot] = true;
        return m;
    }

    @Override
    public boolean hasLastHidden(int slot) {
        return loaded(slot).lastHidden() != null;
    }

    @Override
    public void reset(int slot) {
        if (slots[slot] == null || handedOut[slot]) {
            slots[slot] = model.newMemory();
            handedOut[slot] = false;
        } else {
            slots[slot].reset();
        }
    }

    @Override
    public Scored advanceScored(int[] slots, int[] offsets, int[] tokens, ScoreRows score, boolean hostHidden) {
        int n = slots.length;
        int d = model.config().hiddenSize();
        ownAdvanced(slots, offsets);
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

    /** The slots about to consume tokens take their own copies of memories handed out by {@link #store}. */
    private void ownAdvanced(int[] slots, int[] offsets) {
        int[] copy = java.util.stream.IntStream.range(0, slots.length)
                .filter(i -> offsets[i + 1] > offsets[i] && handedOut[slots[i]]).map(i -> slots[i]).toArray();
        if (copy.length == 0) {
            return;
        }
        java.util.stream.IntStream.range(0, copy.length).parallel()
                .forEach(i -> this.slots[copy[i]] = loaded(copy[i]).copy());
        for (int s : copy) {
            handedOut[s] = false;
        }
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
