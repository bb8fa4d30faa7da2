package dev.gdn.operator;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The share of this JVM's heap that stream memories on the heap state backend may take, across every
 * operator instance of the JVM (a TaskManager runs several). Each instance reports the bytes its
 * memories hold now (entries of its heap state, so streams dropped by an idle TTL free their share);
 * a new stream is admitted only while the total stays within the limit, so that the heap does not run
 * out and take the whole job down.
 */
final class HeapBudget {
    private static final Map<Object, LongSupplier> HOLDERS = new ConcurrentHashMap<>();

    private HeapBudget() {
    }

    /** Bytes the budget allows: {@code fraction} of the maximum heap. */
    static long limit(double fraction) {
        return (long) (Runtime.getRuntime().maxMemory() * fraction);
    }

    /** Counts {@code bytesHeld} of {@code owner} against the budget until {@link #unregister}. */
    static void register(Object owner, LongSupplier bytesHeld) {
        HOLDERS.put(owner, bytesHeld);
    }

    static void unregister(Object owner) {
        HOLDERS.remove(owner);
    }

    /** Bytes held by every registered owner in this JVM. */
    static long held() {
        long n = 0;
        for (LongSupplier s : HOLDERS.values()) {
            n += s.getAsLong();
        }
        return n;
    }

    /** Whether {@code bytes} more fit within {@code limit}. */
    static boolean fits(long bytes, long limit) {
        return held() + bytes <= limit;
    }
}
