package dev.gdn.kernels.model;

/**
 * Stream memories kept by the computing side between calls, in numbered slots, so that a stream that
 * keeps sending events is advanced in place instead of being copied in and out for every batch. On the
 * GPU the slots are device memory; on the CPU they are host copies. The caller decides which stream
 * lives in which slot and when a slot's memory is copied back (a write-back cache of the stream
 * memories' durable home).
 *
 * <p>A slot holds the layer memories, the tokens consumed and the final hidden state after the stream's
 * last token (which scores the stream's next token); the binding to a stream stays with the caller.
 */
public interface ResidentStreams extends AutoCloseable {
    /** Number of slots, fixed at creation. */
    int capacity();

    /** Device or host bytes one slot takes. */
    long bytesPerSlot();

    /**
     * Copies {@code m} (layers, tokens consumed and last hidden state) into {@code slot}.
     *
     * @param slot in {@code [0, capacity)}
     */
    void load(int slot, StreamMemory m);

    /**
     * {@link #load} of several memories at once ({@code mems[i]} into {@code slots[i]}), with as few
     * transfers as the form allows.
     */
    default void loadAll(int[] slots, StreamMemory[] mems) {
        for (int i = 0; i < slots.length; i++) {
            load(slots[i], mems[i]);
        }
    }

    /**
     * A host copy of {@code slot}'s memory: layers, tokens consumed and last hidden state, which the slot's
     * later advances and resets never change (the CPU form hands out the slot's own object and copies on
     * its next write).
     */
    StreamMemory store(int slot);

    /** Whether {@code slot}'s stream has a last hidden state (loaded with one, or advanced since its reset). */
    boolean hasLastHidden(int slot);

    /**
     * Host copies of several slots at once (a checkpoint's write-back): the same as {@link #store} slot
     * by slot, done with as few transfers and as many host threads as the form allows.
     */
    default StreamMemory[] storeAll(int[] slots) {
        StreamMemory[] out = new StreamMemory[slots.length];
        for (int i = 0; i < slots.length; i++) {
            out[i] = store(slots[i]);
        }
        return out;
    }

    /**
     * Forks: copies slot {@code from[i]} of this set into slot {@code i} of {@code target} (a set of the same
     * model with at least {@code from.length} slots), memory, tokens consumed and last hidden state, as they
     * are after every advance so far. The default goes through host copies; on the GPU, two sets of one
     * engine copy on the device.
     */
    default void forkInto(int[] from, ResidentStreams target) {
        int[] to = java.util.stream.IntStream.range(0, from.length).toArray();
        target.loadAll(to, storeAll(from));
    }

    /**
     * Host copies of several slots as they are now, whose layers may still be arriving
     * ({@link StreamMemory#arriving}): the slots may be advanced again at once, and the copies finish in
     * the background (on the GPU: from a device-side snapshot, over a copy stream that overlaps the next
     * passes). Reading a copy's layers waits for them. The default copies at once ({@link #storeAll}).
     */
    default StreamMemory[] storeAllLater(int[] slots) {
        return storeAll(slots);
    }

    /**
     * Forgets {@code slot}'s memory (its last hidden state too): a stream that has seen nothing. A slot
     * never loaded becomes one, ready to advance.
     */
    void reset(int slot);

    /** {@link #reset} of several slots at once, with as few device calls as the form allows. */
    default void resetAll(int[] slots) {
        for (int s : slots) {
            reset(s);
        }
    }

    /**
     * Advances resident streams: stream n (in slot {@code slots[n]}) consumes
     * {@code tokens[offsets[n] .. offsets[n+1])}; each advanced slot's last hidden state becomes its
     * stream's last row.
     *
     * @param slots   {@code [N]} distinct loaded slots
     * @param offsets {@code [N + 1]} row offsets
     * @param tokens  {@code [rows]}
     * @return the final normed hidden states {@code [rows, D]}
     */
    default float[] advance(int[] slots, int[] offsets, int[] tokens) {
        return advanceScored(slots, offsets, tokens, new ScoreRows(new int[0], new int[0], new boolean[0], 0), true)
                .hidden();
    }

    /**
     * Rows of final hidden states to score after an advance, and what to score them for.
     *
     * @param sources {@code [R]} row i is the advance's row {@code sources[i]} when {@code >= 0}; otherwise
     *                the last hidden state that stream {@code n = -sources[i] - 1} of the advance had before
     *                it (the stream must have one)
     * @param targets {@code [R]} the token each row predicts, or -1
     * @param want    {@code [R]} whether the row's top {@code k} are wanted
     * @param k       top entries per wanted row
     */
    record ScoreRows(int[] sources, int[] targets, boolean[] want, int k) {
        public ScoreRows {
            if (targets.length != sources.length || want.length != sources.length) {
                throw new IllegalArgumentException("sources, targets and want differ in length: " + sources.length
                        + ", " + targets.length + ", " + want.length);
            }
        }

        public int rows() {
            return sources.length;
        }
    }

    /**
     * What {@link #advanceScored} returns.
     *
     * @param scores the scores of the asked rows ({@code [R]})
     * @param hidden the advance's final normed hidden states {@code [rows, D]} on the host, or null when not
     *               asked for
     */
    record Scored(RowScores scores, float[] hidden) {
    }

    /**
     * Advances as {@link #advance} does, then scores rows of hidden states where they are: on the GPU the
     * hidden states stay on the device (only the scores come back, and the hidden states when asked for).
     *
     * @param slots      {@code [N]} distinct loaded slots
     * @param offsets    {@code [N + 1]} row offsets
     * @param tokens     {@code [rows]}
     * @param score      the rows to score (R may be 0)
     * @param hostHidden whether to copy the advance's hidden states {@code [rows, D]} to the host
     */
    Scored advanceScored(int[] slots, int[] offsets, int[] tokens, ScoreRows score, boolean hostHidden);

    /**
     * {@link #advanceScored}, possibly still running when this returns (see {@link #advancesAsync}): the
     * caller may do host work meanwhile and takes the result from the future. Another advance may be
     * launched the same way before it completes: it runs after this one, in call order, and what the set
     * tells of its slots on the host ({@link #hasLastHidden}) already counts every advance launched. Until
     * they complete, the caller makes no other call on this set (a call made anyway waits for them, or must
     * not touch their slots). The arrays must not change until then. Here: runs at once and returns a
     * completed future.
     */
    default java.util.concurrent.CompletableFuture<Scored> advanceScoredAsync(int[] slots, int[] offsets, int[] tokens,
            ScoreRows score, boolean hostHidden) {
        return java.util.concurrent.CompletableFuture.completedFuture(
                advanceScored(slots, offsets, tokens, score, hostHidden));
    }

    /**
     * Whether {@link #advanceScoredAsync} returns before the advance is done (on the GPU: the advance
     * runs on a thread of its own, leaving the caller's thread free while the device works).
     */
    default boolean advancesAsync() {
        return false;
    }

    @Override
    void close();
}
