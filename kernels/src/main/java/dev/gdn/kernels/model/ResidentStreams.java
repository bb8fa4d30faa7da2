package dev.gdn.kernels.model;

/**
 * Stream memories kept by the computing side between calls, in numbered slots, so that a stream that
 * keeps sending events is advanced in place instead of being copied in and out for every batch. On the
 * GPU the slots are device memory; on the CPU they are host copies. The caller decides which stream
 * lives in which slot and when a slot's memory is copied back (a write-back cache of the stream
 * memories' durable home).
 *
 * <p>A slot holds the layer memories and the tokens consumed; the binding to a stream and the last
 * hidden state stay with the caller.
 */
public interface ResidentStreams extends AutoCloseable {
    /** Number of slots, fixed at creation. */
    int capacity();

    /** Device or host bytes one slot takes. */
    long bytesPerSlot();

    /**
     * Copies {@code m} (layers and tokens consumed) into {@code slot}.
     *
     * @param slot in {@code [0, capacity)}
     */
    void load(int slot, StreamMemory m);

    /** A host copy of {@code slot}'s memory: layers and tokens consumed (unbound, no hidden state). */
    StreamMemory store(int slot);

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

    /** Forgets {@code slot}'s memory: a stream that has seen nothing. */
    void reset(int slot);

    /**
     * Advances resident streams: stream n (in slot {@code slots[n]}) consumes
     * {@code tokens[offsets[n] .. offsets[n+1])}.
     *
     * @param slots   {@code [N]} distinct loaded slots
     * @param offsets {@code [N + 1]} row offsets
     * @param tokens  {@code [rows]}
     * @return the final normed hidden states {@code [rows, D]}
     */
    float[] advance(int[] slots, int[] offsets, int[] tokens);

    @Override
    void close();
}
