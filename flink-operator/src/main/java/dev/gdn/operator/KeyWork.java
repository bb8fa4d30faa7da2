package dev.gdn.operator;

import java.util.ArrayList;
import java.util.List;

/** One key's share of a bundle while it is being run: its events, where it stands in them, its results. */
final class KeyWork {
    final MemoryCache.Entry entry;
    final List<StreamEvent> events;
    final List<StreamResult> results = new ArrayList<>();
    int next;
    List<StreamEvent> stretch;
    int[] stretchTokens;
    /** Events with tokens the stream has seen (with gdn.summary.every-events), and that count when the bundle began. */
    long eventsSeen;
    long eventsAtStart;
    /** Whether a reset cleared the count in this bundle. */
    boolean countReset;

    KeyWork(MemoryCache.Entry entry, List<StreamEvent> events) {
        this.entry = entry;
        this.events = events;
    }

    /**
     * Applies the reset events at the head of what is left: the slot forgets, each reset gets its result.
     *
     * @return how many resets were applied
     */
    int applyResets(dev.gdn.kernels.model.ResidentStreams slots, EventScorer scorer, int logTokens) {
        int applied = 0;
        while (next < events.size() && events.get(next).reset) {
            startAfresh(slots, logTokens);
            results.add(scorer.resetResult(events.get(next)));
            next++;
            applied++;
        }
        return applied;
    }

    /**
     * The stream forgets its memory (a reset, or a memory that turned non-finite): as one that saw nothing,
     * kept as its tokens again when {@code logTokens > 0}.
     */
    void startAfresh(dev.gdn.kernels.model.ResidentStreams slots, int logTokens) {
        slots.reset(entry.slot);
        entry.tokens = 0;
        entry.tail = logTokens > 0 ? new int[0] : null;
        entry.baseTokens = 0;
        entry.prefix = null;
        eventsSeen = 0;
        countReset = true;
        entry.dirty = true;
    }

    /**
     * The events up to the next control, or up to and including the one that takes the stream's token
     * count (now {@code tokens}) past a multiple of {@code every} (when {@code every > 0}) or its event
     * count to a multiple of {@code everyEvents} (when {@code everyEvents > 0}).
     */
    List<StreamEvent> nextStretch(long tokens, int every, int everyEvents) {
        int from = next;
        long t = tokens;
        long seen = eventsSeen;
        while (next < events.size() && !events.get(next).isControl()) {
            long after = t + events.get(next).tokens.length;
            next++;
            seen++;
            if (every > 0 && t / every < after / every || everyEvents > 0 && seen % everyEvents == 0) {
                break;
            }
            t = after;
        }
        return events.subList(from, next);
    }

    /** Tokens of the events before the first control (reset or generation), or all of them. */
    int tokensBeforeControl() {
        int n = 0;
        for (int i = next; i < events.size() && !events.get(i).isControl(); i++) {
            n += events.get(i).tokens.length;
        }
        return n;
    }

    boolean hasMore() {
        return next < events.size();
    }
}
