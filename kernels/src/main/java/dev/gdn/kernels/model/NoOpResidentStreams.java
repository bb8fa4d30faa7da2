package dev.gdn.kernels.model;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Resident streams that compute nothing: each slot only counts the tokens it was given. Scores are made
 * up (of a model's magnitudes, the top k are tokens 0 .. k-1), hidden states are zeros, and a stored memory carries the slot's token
 * count and no layers (so that a store of many streams costs only their count). For measuring and testing
 * what runs around the engine (batching, caching, scoring and writing results) without the engine's cost.
 */
public final class NoOpResidentStreams implements ResidentStreams {
    private final long[] tokens;
    private final Supplier<StreamMemory> fresh;
    private final int hiddenSize;
    private final long bytesPerSlot;
    /** Where {@link #advanceScoredAsync} runs, as a GPU's launch thread would; null: at once, in the caller. */
    private final java.util.concurrent.ExecutorService apart;

    /**
     * @param capacity     slots
     * @param fresh        a new memory of the model the slots stand in for
     * @param hiddenSize   floats per hidden state
     * @param bytesPerSlot what a slot says it holds
     */
    public NoOpResidentStreams(int capacity, Supplier<StreamMemory> fresh, int hiddenSize, long bytesPerSlot) {
        this(capacity, fresh, hiddenSize, bytesPerSlot, false);
    }

    /**
     * @param apart whether advances run on a thread of their own, as a GPU engine's do, so that the caller
     *              sees the same hand-off (a measurement of the operator's host path around a GPU)
     */
    public NoOpResidentStreams(int capacity, Supplier<StreamMemory> fresh, int hiddenSize, long bytesPerSlot,
            boolean apart) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity is " + capacity + ", expected at least 1");
        }
        this.tokens = new long[capacity];
        this.fresh = fresh;
        this.hiddenSize = hiddenSize;
        this.bytesPerSlot = bytesPerSlot;
        this.apart = apart ? java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "gdn-noop-advance");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /** No-op slots standing in for {@code model}'s: their memories are {@code model}'s, without layers. */
    public static NoOpResidentStreams of(GatedDeltaNetModel model, int capacity) {
        return of(model, capacity, false);
    }

    /** {@link #of(GatedDeltaNetModel, int)}, advancing on a thread of their own when {@code apart}. */
    public static NoOpResidentStreams of(GatedDeltaNetModel model, int capacity, boolean apart) {
        ModelFingerprint fingerprint = model.fingerprint();
        return new NoOpResidentStreams(capacity, () -> new StreamMemory(new LayerMemory[0], 0, fingerprint),
                model.config().hiddenSize(), model.newMemory().payloadBytes(), apart);
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
        return scores(ids.length, score, hostHidden);
    }

    private Scored scores(int tokenRows, ScoreRows score, boolean hostHidden) {
        int rows = score.rows();
        int k = score.k();
        float[] hidden = hostHidden ? new float[tokenRows * hiddenSize] : null;
        // scores of the shape a model gives (a log-sum-exp near log(vocab), logits of a few units), so that
        // what turns them into results costs what it costs on real ones
        double[] lse = new double[rows];
        float[] target = new float[rows];
        int[] topIds = new int[rows * k];
        float[] topLogits = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            lse[r] = 6.0 + r * 1e-3;
            target[r] = 1.0f + (score.targets()[r] & 1023) * 1e-3f;
            for (int j = 0; j < k; j++) {
                topIds[r * k + j] = j;
                topLogits[r * k + j] = 3.0f - j * 0.37f + r * 1e-4f;
            }
        }
        return new Scored(new RowScores(lse, target, topIds, topLogits, k), hidden);
    }

    /** Apart: the slots' token counts kept at once, the made-up scores on the advance thread. */
    @Override
    public java.util.concurrent.CompletableFuture<Scored> advanceScoredAsync(int[] slots, int[] offsets, int[] ids,
            ScoreRows score, boolean hostHidden) {
        if (apart == null) {
            return ResidentStreams.super.advanceScoredAsync(slots, offsets, ids, score, hostHidden);
        }
        for (int i = 0; i < slots.length; i++) {
            tokens[slots[i]] += offsets[i + 1] - offsets[i];
        }
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> scores(ids.length, score, hostHidden), apart);
    }

    @Override
    public boolean advancesAsync() {
        return apart != null;
    }

    @Override
    public void close() {
        if (apart != null) {
            apart.shutdown();
        }
        Arrays.fill(tokens, 0);
    }
}
