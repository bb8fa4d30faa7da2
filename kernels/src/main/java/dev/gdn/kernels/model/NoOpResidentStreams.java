package dev.gdn.kernels.model;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Resident streams that compute nothing: each slot only counts the tokens it was given. Every score is
 * zero (the top k are token 0), hidden states are zeros, and a stored memory is a fresh one carrying the
 * slot's token count. For measuring and testing what runs around the engine (batching, caching, scoring
 * and writing results) without the engine's cost.
 */
public final class NoOpResidentStreams implements ResidentStreams {
    private final long[] tokens;
    private final Supplier<StreamMemory> fresh;
    private final int hiddenSize;
    private final long bytesPerSlot;

    /**
     * @param capacity     slots
     * @param fresh        a new memory of the model the slots stand in for
     * @param hiddenSize   floats per hidden state
     * @param bytesPerSlot what a slot says it holds
     */
    public NoOpResidentStreams(int capacity, Supplier<StreamMemory> fresh, int hiddenSize, long bytesPerSlot) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity is " + capacity + ", expected at least 1");
        }
        this.tokens = new long[capacity];
        this.fresh = fresh;
        this.hiddenSize = hiddenSize;
        this.bytesPerSlot = bytesPerSlot;
    }

    /** No-op slots standing in for {@code model}'s. */
    public static NoOpResidentStreams of(GatedDeltaNetModel model, int capacity) {
        return new NoOpResidentStreams(capacity, model::newMemory, model.config().hiddenSize(),
                model.newMemory().payloadBytes());
    }

    @Override
    public int capacity() {
        return tokens.length;
    }

    @Override
    public long bytesPerSlot() {
        return bytesPerSlot;
    }

    @Override
    public void load(int slot, StreamMemory m) {
        tokens[slot] = m.tokensConsumed();
    }

    @Override
    public StreamMemory store(int slot) {
        StreamMemory m = fresh.get();
        m.setTokensConsumed(tokens[slot]);
        return m;
    }

    @Override
    public boolean hasLastHidden(int slot) {
        return tokens[slot] > 0;
    }

    @Override
    public void reset(int slot) {
        tokens[slot] = 0;
    }

    /** Tokens slot {@code slot} has been given since its load or reset. */
    public long tokens(int slot) {
        return tokens[slot];
    }

    @Override
    public Scored advanceScored(int[] slots, int[] offsets, int[] ids, ScoreRows score, boolean hostHidden) {
        for (int i = 0; i < slots.length; i++) {
            tokens[slots[i]] += offsets[i + 1] - offsets[i];
        }
        int rows = score.rows();
        int k = score.k();
        float[] hidden = hostHidden ? new float[ids.length * hiddenSize] : null;
        return new Scored(new RowScores(new double[rows], new float[rows], new int[rows * k], new float[rows * k], k),
                hidden);
    }

    @Override
    public void close() {
        Arrays.fill(tokens, 0);
    }
}
