package dev.gdn.operator;

import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.StreamMemory;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Which stream lives in which slot of the {@link ResidentStreams}: a write-back cache of the stream
 * memories whose durable home is keyed state. A stream's memory is loaded into a slot when its key is
 * first touched, advanced there by every later bundle (and marked dirty), and written back to state
 * by the operator before every checkpoint barrier. When every slot is taken, the least recently used
 * stream leaves its slot, written back first when dirty.
 *
 * <p>Beside each slot the cache keeps what the slot does not: whether it is dirty and when it was last
 * touched (for the idle TTL).
 */
final class MemoryCache implements AutoCloseable {
    /** Writes one dirty entry's stored memory back to keyed state (the operator sets the key and updates its state). */
    interface WriteBack {
        /** {@code stored} is null for an entry written as its token tail. */
        void write(Entry e, StreamMemory stored) throws Exception;
    }

    /** One resident stream. */
    static final class Entry {
        final String key;
        final int slot;
        boolean dirty;
        /** The stream's last hidden state came from the format-2 {@code last-hidden} state, to be cleared. */
        boolean legacyHidden;
        long lastTouched;
        long tokens;
        /**
         * The tokens the stream has consumed since its base (the memory the store holds, or an empty one
         * when {@link #baseTokens} is 0) while they are at most gdn.state.log-tokens: written back as
         * these tokens (a token log) instead of the memory; null once more (the memory is written).
         */
        int[] tail;
        /** Tokens consumed by the memory {@link #tail} continues (0: an empty memory, none stored). */
        long baseTokens;
        /** Whether the store holds a memory, and a token log, for the stream now. */
        boolean memoryStored;
        boolean logStored;
        /**
         * Tokens of a stream loaded with a token log that its slot has yet to consume (the memory is
         * rebuilt in the same pass as the stream's next stretch, or alone before it); null when none.
         */
        int[] prefix;

        Entry(String key, int slot) {
            this.key = key;
            this.slot = slot;
        }
    }

    private final ResidentStreams slots;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final Deque<Integer> free = new ArrayDeque<>();
    private long evictions;
    /** Admitted entries whose memories are still to be loaded ({@link #loadAdmitted}), and those memories. */
    private final List<Entry> toLoad = new ArrayList<>();
    private final List<StreamMemory> toLoadMemories = new ArrayList<>();
    /** Admitted new streams whose slots are still to be cleared. */
    private final List<Entry> toReset = new ArrayList<>();

    MemoryCache(ResidentStreams slots) {
        this.slots = slots;
        for (int s = 0; s < slots.capacity(); s++) {
            free.add(s);
        }
    }

    ResidentStreams slots() {
        return slots;
    }

    int capacity() {
        return slots.capacity();
    }

    /** Streams resident now. */
    int size() {
        return entries.size();
    }

    /** Streams that have left their slot to make room for another. */
    long evictions() {
        return evictions;
    }

    /** The resident entry of {@code key}, marked most recently used; null when not resident. */
    Entry get(String key) {
        return entries.get(key);
    }

    /**
     * Gives {@code key} a slot for {@code memory} (null: a new stream, whose slot is cleared), freeing the
     * least recently used slot when none is free (written back first when dirty). The memory is loaded
     * into the slot by the next {@link #loadAdmitted}, together with the others admitted before it.
     *
     * @throws IllegalStateException when {@code key} is resident already
     */
    Entry admit(String key, StreamMemory memory, WriteBack writeBack) throws Exception {
        if (entries.containsKey(key)) {
            throw new IllegalStateException("stream '" + Reasons.quote(key) + "' is resident already");
        }
        if (free.isEmpty()) {
            makeRoom(1, writeBack);
        }
        Entry e = new Entry(key, free.poll());
        if (memory == null) {
            toReset.add(e);
        } else {
            toLoad.add(e);
            toLoadMemories.add(memory);
            e.tokens = memory.tokensConsumed();
            e.memoryStored = true;
            e.baseTokens = memory.tokensConsumed();
        }
        entries.put(key, e);
        return e;
    }

    /**
     * Frees slots until {@code n} are free (at most every slot), evicting the least recently used
     * streams; the dirty ones are written back first, their memories copied out together.
     */
    void makeRoom(int n, WriteBack writeBack) throws Exception {
        loadAdmitted();
        int evict = Math.min(n, slots.capacity()) - free.size();
        if (evict <= 0) {
            return;
        }
        List<Entry> victims = new ArrayList<>(evict);
        Iterator<Entry> eldest = entries.values().iterator();
        while (victims.size() < evict && eldest.hasNext()) {
            victims.add(eldest.next());
        }
        writeBackDirtyOf(victims, writeBack, false);
        for (Entry v : victims) {
            entries.remove(v.key);
            free.add(v.slot);
            evictions++;
            OperatorStats.eviction();
        }
    }

    /**
     * Loads the memories admitted since the last call into their slots (and clears the new streams'
     * slots), with as few transfers as the slots allow.
     */
    void loadAdmitted() {
        if (!toReset.isEmpty()) {
            slots.resetAll(toReset.stream().mapToInt(e -> e.slot).toArray());
            toReset.clear();
        }
        if (toLoad.isEmpty()) {
            return;
        }
        int[] ids = toLoad.stream().mapToInt(e -> e.slot).toArray();
        slots.loadAll(ids, toLoadMemories.toArray(new StreamMemory[0]));
        toLoad.clear();
        toLoadMemories.clear();
    }

    /** Drops {@code key}'s entry without writing it back (its memory is to be forgotten). */
    void discard(String key) {
        Entry e = entries.remove(key);
        if (e != null) {
            int pending = toLoad.indexOf(e);
            if (pending >= 0) {
                toLoad.remove(pending);
                toLoadMemories.remove(pending);
            }
            toReset.remove(e);
            free.add(e.slot);
        }
    }

    /** Writes every dirty entry back (their memories copied out together), oldest first; they stay resident, clean. */
    void writeBackDirty(WriteBack writeBack) throws Exception {
        writeBackDirty(writeBack, false);
    }

    /**
     * {@link #writeBackDirty(WriteBack)}; with {@code later}, the memories written back may still be
     * arriving ({@link ResidentStreams#storeAllLater}): keyed state holds them at once, and whatever reads
     * them (a checkpoint's serializer) waits for their layers. For the barrier, so that the copies
     * overlap the bundles after it.
     */
    void writeBackDirty(WriteBack writeBack, boolean later) throws Exception {
        loadAdmitted();
        writeBackDirtyOf(entries.values(), writeBack, later);
    }

    /**
     * Writes the dirty ones of {@code of} back, their memories copied out together; they become clean. A
     * stream kept as its token tail is written without copying its memory out (it gets null).
     */
    private void writeBackDirtyOf(Iterable<Entry> of, WriteBack writeBack, boolean later) throws Exception {
        List<Entry> dirty = new ArrayList<>();
        for (Entry e : of) {
            if (e.dirty && e.tail != null) {
                writeBack.write(e, null);
                e.dirty = false;
            } else if (e.dirty) {
                dirty.add(e);
            }
        }
        if (dirty.isEmpty()) {
            return;
        }
        int[] ids = dirty.stream().mapToInt(e -> e.slot).toArray();
        StreamMemory[] stored = later ? slots.storeAllLater(ids) : slots.storeAll(ids);
        for (int i = 0; i < ids.length; i++) {
            writeBack.write(dirty.get(i), stored[i]);
            dirty.get(i).dirty = false;
        }
    }

    /** Writes every dirty entry back and empties the cache. */
    void writeBackAndClear(WriteBack writeBack) throws Exception {
        writeBackDirty(writeBack);
        for (Entry e : entries.values()) {
            free.add(e.slot);
        }
        entries.clear();
    }

    @Override
    public void close() {
        entries.clear();
        slots.close();
    }
}
