package dev.gdn.kernels.cpu;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Float buffers a thread reuses from one kernel call to the next: the CPU forward's intermediates
 * (projections, convolution windows, the delta rule's per-head scratch) without a fresh array per call.
 *
 * <p>Each user names its buffers with {@link Slot}s of its own; a slot's buffer belongs to the calling
 * thread, so one model may run on many threads at once. A buffer is at least as long as asked, its
 * contents are whatever the last call left: callers write every element they read, and index with their
 * own sizes, never with the array's length. Requests above {@link #MAX_REUSED_FLOATS} get a fresh array
 * (a long prompt's intermediates are not kept alive for the thread's lifetime).
 *
 * <p>Why: at a steady event rate the kernels' per-call arrays were most of the job's allocation (about
 * 190 kB a token on the recall model), and the young collections they caused were the latency tail.
 */
public final class Scratch {
    /** Largest buffer kept for reuse: 1 Mi floats (4 MiB). */
    public static final int MAX_REUSED_FLOATS = 1 << 20;

    private static final AtomicInteger SLOTS = new AtomicInteger();
    private static final ThreadLocal<Scratch> OF_THREAD = ThreadLocal.withInitial(Scratch::new);

    private float[][] buffers = new float[16][];

    private Scratch() {
    }

    /** A buffer name: create once per use site ({@code static final}). */
    public static final class Slot {
        private final int index = SLOTS.getAndIncrement();
        private final String name;

        private Slot(String name) {
            this.name = name;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    public static Slot slot(String name) {
        return new Slot(name);
    }

    /** The calling thread's buffers. */
    public static Scratch ofThread() {
        return OF_THREAD.get();
    }

    /** This thread's buffer of {@code slot}, at least {@code n} floats long, contents unspecified. */
    public static float[] floats(Slot slot, int n) {
        return OF_THREAD.get().get(slot, n);
    }

    /** This scratch's buffer of {@code slot}, at least {@code n} floats long, contents unspecified. */
    public float[] get(Slot slot, int n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0, got " + n + " for slot " + slot);
        }
        if (n > MAX_REUSED_FLOATS) {
            return new float[n];
        }
        if (slot.index >= buffers.length) {
            buffers = Arrays.copyOf(buffers, Math.max(slot.index + 1, buffers.length * 2));
        }
        float[] b = buffers[slot.index];
        if (b == null || b.length < n) {
            // grow with headroom so that bundles of slowly varying size settle on one array
            b = new float[Math.min(MAX_REUSED_FLOATS, n + (n >> 1))];
            buffers[slot.index] = b;
        }
        return b;
    }
}
