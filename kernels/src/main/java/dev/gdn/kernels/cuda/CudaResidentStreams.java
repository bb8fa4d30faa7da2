package dev.gdn.kernels.cuda;

import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.StreamMemory;

/**
 * Stream memories resident in GPU memory: a device pool of its own (the same per-stream layout as the
 * host's), advanced in place by the whole-model pass, and beside it each slot's last hidden state
 * ({@code [capacity, D]} on the device). Tokens consumed, and whether a slot has a last hidden state,
 * are kept on the host per slot.
 */
final class CudaResidentStreams implements ResidentStreams {
    private final CudaForward engine;
    private final CudaMemoryPool pool;
    private final long[] tokens;
    private final boolean[] hasLast;
    private final long last;
    private final int width;
    private final StreamMemory shape;
    /** Device snapshot of the slots being copied out in the background; created on first use. */
    private CudaMemoryPool shadow;
    private org.bytedeco.cuda.cudart.CUstream_st copyStream;
    private java.util.concurrent.ExecutorService copier;
    private java.util.concurrent.CompletableFuture<Void> copying = java.util.concurrent.CompletableFuture.completedFuture(null);
    /** The thread {@link #advanceScoredAsync} runs advances on; created on first use. */
    private java.util.concurrent.ExecutorService launcher;
    /** Device memory left free when a shadow grows. */
    private static final long SHADOW_MARGIN = 1L << 30;

    /** @param shape a memory of the model's layout (copied for every {@link #store}) */
    CudaResidentStreams(CudaForward engine, StreamMemory shape, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.engine = engine;
        this.pool = engine.newPool(capacity);
        this.tokens = new long[capacity];
        this.hasLast = new boolean[capacity];
        this.width = engine.hiddenSize();
        this.last = engine.allocate(4L * capacity * width);
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
        loadAll(new int[] {slot}, new StreamMemory[] {m});
    }

    @Override
    public void loadAll(int[] slots, StreamMemory[] mems) {
        for (StreamMemory m : mems) {
            float[] h = m.lastHidden();
            if (h != null && h.length != width) {
                throw new IllegalArgumentException("last hidden state of " + h.length + " floats, expected " + width);
            }
        }
        engine.loadSlots(pool, slots, mems);
        int withLast = 0;
        for (int i = 0; i < slots.length; i++) {
            tokens[slots[i]] = mems[i].tokensConsumed();
            hasLast[slots[i]] = mems[i].lastHidden() != null;
            withLast += hasLast[slots[i]] ? 1 : 0;
        }
        // the last hidden states up together
        int[] rows = new int[withLast];
        float[][] values = new float[withLast][];
        for (int i = 0, j = 0; i < slots.length; i++) {
            if (hasLast[slots[i]]) {
                rows[j] = slots[i];
                values[j++] = mems[i].lastHidden();
            }
        }
        engine.putRows(last, width, rows, values);
    }

    @Override
    public StreamMemory store(int slot) {
        return storeAll(new int[] {slot})[0];
    }

    @Override
    public StreamMemory[] storeAll(int[] slots) {
        StreamMemory[] out = new StreamMemory[slots.length];
        java.util.stream.IntStream.range(0, slots.length).parallel().forEach(i -> out[i] = shape.copy());
        engine.storeSlots(pool, slots, out);
        finish(slots, out, slots.length);
        return out;
    }

    /**
     * The slots are copied on the device into a shadow pool (as much of them as the free device memory
     * allows, less a margin of {@value #SHADOW_MARGIN} bytes; the rest are copied out at once), then out
     * of the shadow on a copy stream by a background thread, round by round, each round's memories
     * completed as it lands; the next passes run meanwhile. A call first waits for the previous call's
     * copies (they share the shadow).
     */
    @Override
    public StreamMemory[] storeAllLater(int[] slots) {
        waitForCopies();
        long per = pool.bytesPerSlot();
        long have = shadow == null ? 0 : (long) shadow.capacity() * per;
        long need = (long) slots.length * per;
        int deferred = slots.length;
        if (need > have) {
            long affordable = Math.max(0, engine.freeBytes() - SHADOW_MARGIN + have);
            deferred = (int) Math.min(slots.length, affordable / per);
        }
        if (deferred == 0) {
            return storeAll(slots);
        }
        int[] later = java.util.Arrays.copyOf(slots, deferred);
        if (shadow == null) {
            shadow = engine.newPool(deferred);
            copyStream = engine.device().newCopyStream();
            copier = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "gdn-gpu-write-back");
                t.setDaemon(true);
                return t;
            });
        }
        engine.snapshotSlots(pool, later, shadow);
        StreamMemory[] out = new StreamMemory[slots.length];
        @SuppressWarnings("unchecked")
        java.util.concurrent.CompletableFuture<dev.gdn.kernels.model.LayerMemory[]>[] layers =
                new java.util.concurrent.CompletableFuture[deferred];
        for (int i = 0; i < deferred; i++) {
            layers[i] = new java.util.concurrent.CompletableFuture<>();
            out[i] = StreamMemory.arriving(shape.layerCount(), layers[i], 0, shape.fingerprint());
        }
        finish(later, out, deferred);
        if (deferred < slots.length) {
            StreamMemory[] now = storeAll(java.util.Arrays.copyOfRange(slots, deferred, slots.length));
            System.arraycopy(now, 0, out, deferred, now.length);
        }
        CudaMemoryPool from = shadow;
        copying = java.util.concurrent.CompletableFuture.runAsync(() -> copyOut(from, layers), copier);
        return out;
    }

    /** On the background thread: the shadow's first {@code layers.length} slots to the host, round by round. */
    private void copyOut(CudaMemoryPool from, java.util.concurrent.CompletableFuture<dev.gdn.kernels.model.LayerMemory[]>[] layers) {
        try {
            int n = layers.length;
            StreamMemory[] mems = new StreamMemory[n];
            java.util.stream.IntStream.range(0, n).parallel().forEach(i -> mems[i] = shape.copy());
            int[] ids = java.util.stream.IntStream.range(0, n).toArray();
            from.downloadSlots(ids, mems, copyStream, (a, b) -> {
                for (int i = a; i < b; i++) {
                    dev.gdn.kernels.model.LayerMemory[] l = new dev.gdn.kernels.model.LayerMemory[mems[i].layerCount()];
                    for (int j = 0; j < l.length; j++) {
                        l[j] = mems[i].layer(j);
                    }
                    layers[i].complete(l);
                }
            });
        } catch (Throwable t) {
            for (var f : layers) {
                f.completeExceptionally(t);
            }
        }
    }

    /** Waits for the background copies of the last {@link #storeAllLater} (their failures reach the memories). */
    private void waitForCopies() {
        try {
            copying.join();
        } catch (java.util.concurrent.CompletionException e) {
            // the memories carry the failure to whoever reads them
        }
    }

    /**
     * Sets what the host keeps of the first {@code n} stored slots: tokens consumed, and the last hidden
     * states (copied down together).
     */
    private void finish(int[] slots, StreamMemory[] out, int n) {
        int withLast = 0;
        for (int i = 0; i < n; i++) {
            out[i].setTokensConsumed(tokens[slots[i]]);
            withLast += hasLast[slots[i]] ? 1 : 0;
        }
        int[] rows = new int[withLast];
        int[] of = new int[withLast];
        for (int i = 0, j = 0; i < n; i++) {
            if (hasLast[slots[i]]) {
                of[j] = i;
                rows[j++] = slots[i];
            }
        }
        float[][] values = engine.getRows(last, width, rows);
        for (int j = 0; j < withLast; j++) {
            out[of[j]].setLastHidden(values[j]);
        }
    }

    /** On one engine: the memories slot to slot and the last hidden rows on the device, nothing through the host. */
    @Override
    public void forkInto(int[] from, ResidentStreams target) {
        if (!(target instanceof CudaResidentStreams t) || t.engine != engine) {
            ResidentStreams.super.forkInto(from, target);
            return;
        }
        if (from.length > t.capacity()) {
            throw new IllegalArgumentException(from.length + " forks into a set of " + t.capacity() + " slots");
        }
        engine.forkSlots(pool, from, last, t.pool, t.last);
        for (int i = 0; i < from.length; i++) {
            t.tokens[i] = tokens[from[i]];
            t.hasLast[i] = hasLast[from[i]];
        }
    }

    @Override
    public boolean hasLastHidden(int slot) {
        return hasLast[slot];
    }

    @Override
    public void reset(int slot) {
        engine.clearSlot(pool, slot);
        tokens[slot] = 0;
        hasLast[slot] = false;
    }

    @Override
    public void resetAll(int[] slots) {
        engine.clearSlots(pool, slots);
        for (int s : slots) {
            tokens[s] = 0;
            hasLast[s] = false;
        }
    }

    @Override
    public Scored advanceScored(int[] slots, int[] offsets, int[] tokens, ScoreRows score, boolean hostHidden) {
        checkRows(slots, score);
        Scored out = engine.advanceScored(pool, last, slots, offsets, tokens, score, hostHidden);
        count(slots, offsets);
        return out;
    }

    /**
     * The advance and its scoring run on this set's launch thread (the engine's calls are serialized, so
     * a call from the caller's thread meanwhile waits for it); the slots' token counts are kept at once.
     */
    @Override
    public java.util.concurrent.CompletableFuture<Scored> advanceScoredAsync(int[] slots, int[] offsets, int[] tokens,
            ScoreRows score, boolean hostHidden) {
        checkRows(slots, score);
        if (launcher == null) {
            launcher = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "gdn-cuda-advance");
                t.setDaemon(true);
                return t;
            });
        }
        var out = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> engine.advanceScored(pool, last, slots, offsets, tokens, score, hostHidden), launcher);
        count(slots, offsets);
        return out;
    }

    @Override
    public boolean advancesAsync() {
        return true;
    }

    private void checkRows(int[] slots, ScoreRows score) {
        for (int s : score.sources()) {
            if (s < 0 && !hasLast[slots[-s - 1]]) {
                throw new IllegalArgumentException("a row asks for the last hidden state of stream " + (-s - 1)
                        + " (slot " + slots[-s - 1] + "), which has none");
            }
        }
    }

    private void count(int[] slots, int[] offsets) {
        for (int n = 0; n < slots.length; n++) {
            this.tokens[slots[n]] += offsets[n + 1] - offsets[n];
            hasLast[slots[n]] |= offsets[n + 1] > offsets[n];
        }
    }

    @Override
    public void close() {
        if (launcher != null) {
            // an advance still running finishes before its pool goes
            launcher.shutdown();
            try {
                launcher.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        waitForCopies();
        if (shadow != null) {
            copier.shutdown();
            engine.closePool(shadow);
            engine.device().destroyStream(copyStream);
        }
        engine.closePool(pool);
        engine.free(last);
    }
}
