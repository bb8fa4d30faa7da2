package dev.gdn.operator;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.Generator;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.state.StreamBinding;
import dev.gdn.state.TokenLogFormat;
import dev.gdn.text.ModelTokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the inference operator does with a bundle, Flink-free: the memory cache (which streams live in
 * which slots of the engine), the idle TTL of resident streams, resets, batched advance and scoring,
 * non-finite memories, generations and the count-based summary policies. The operator only buffers
 * events, runs timers and barrier hooks, and gives the core its keyed state through {@link Store}.
 *
 * <p>On the CPU a key's results do not depend on the other keys of its bundle (the kernels are
 * batch-invariant), nor on where bundles split its events, as long as each run of a stream's tokens in one
 * bundle stays below the chunk length (64 tokens): a longer run takes the chunkwise form, equal to the
 * token-by-token one within the chunked tolerance, not bit for bit. On the GPU the results also depend,
 * within fp32 rounding (about 1e-7 relative, seen on an H100), on which other keys share the bundle: its
 * matrix products pick their kernels by batch. So a replay after a failure gives the same bytes on the
 * CPU for short events, and equal results within 1e-5 otherwise.
 */
final class BundleCore implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(BundleCore.class);

    /** The reason given to events whose results or memory turned non-finite. */
    static final String NON_FINITE = "the model produced non-finite values (NaN or infinity) for this event; the "
            + "stream's memory was reset so that no non-finite memory is kept";

    /**
     * The durable home of each stream's memory (the operator's keyed state, where the operator sets the
     * key before each call). Reads fail as the state does: corrupt or foreign memories throw.
     */
    interface Store {
        /** {@code key}'s memory as stored, checked as this model's and bound to {@code key}; null for none. */
        StreamMemory read(String key) throws Exception;

        /** The last hidden state kept beside a format-2 memory (null for none). */
        float[] legacyHidden(String key) throws Exception;

        /**
         * Stores {@code key}'s memory (bound to it); {@code dropLegacyHidden}: the format-2 hidden state goes;
         * {@code dropLog}: the token log stored for it goes.
         */
        void write(String key, StreamMemory memory, boolean dropLegacyHidden, boolean dropLog) throws Exception;

        /**
         * {@code key}'s token log: the tokens it consumed since its stored memory (or since an empty one),
         * checked as this model's and bound to {@code key}; null for none.
         */
        TokenLogFormat.Log readLog(String key) throws Exception;

        /**
         * Stores {@code key}'s token log ({@code tokens} consumed on top of its stored memory of
         * {@code baseTokens} tokens, or of an empty memory when 0); {@code dropMemory}: the memory stored for
         * it goes (its log starts from an empty memory).
         */
        void writeLog(String key, long baseTokens, int[] tokens, boolean dropMemory) throws Exception;

        /** Forgets {@code key}'s memory (or token log) and its last hidden state; {@code withCount}: its event count too. */
        void forget(String key, boolean withCount) throws Exception;

        /** {@code key}'s events with tokens since its start or last reset (gdn.summary.every-events). */
        long eventCount(String key) throws Exception;

        void setEventCount(String key, long count) throws Exception;

        /** Null when a new stream may be admitted; else why not (the state backend's budget is spent). */
        String refuseNewStream();
    }

    /** Where the results go, per key in event order. */
    interface Emitter {
        void emit(StreamResult result) throws Exception;
    }

    /**
     * The core's options.
     *
     * @param summaryEveryTokens  a summary each time a stream's token count passes a multiple (0: off)
     * @param summaryEveryEvents  a summary each time a stream's event count reaches a multiple (0: off)
     * @param summarySpec         the summaries' generation (null when no summary policy is on)
     * @param idleTtlMillis       a resident stream idle this long is forgotten (0: never)
     * @param keepResident        whether memories stay in their slots between bundles (gdn.cache.enabled)
     * @param maxConcurrent       most generations in one batched call
     * @param logTokens         a stream that consumed at most this many tokens since its stored memory
     *                            was written (or since its start or last reset) is written back as those
     *                            tokens and rebuilt when loaded (0: always the memory; at most
     *                            {@link TokenLogFormat#MAX_TOKENS}); with an idle TTL only on an empty
     *                            memory (a log does not refresh the stored memory's TTL)
     */
    record Settings(int summaryEveryTokens, int summaryEveryEvents, GenerateSpec summarySpec, long idleTtlMillis,
            boolean keepResident, int maxConcurrent, int logTokens) {
        Settings {
            if (logTokens < 0 || logTokens > TokenLogFormat.MAX_TOKENS) {
                throw new IllegalArgumentException("logTokens must be 0.." + TokenLogFormat.MAX_TOKENS + ", got "
                        + logTokens);
            }
        }

        boolean countsEvents() {
            return summaryEveryEvents > 0;
        }
    }

    private final GatedDeltaNetModel model;
    private final MemoryCache cache;
    private final EventScorer scorer;
    private final Settings settings;
    private final Store store;
    private final Generations generating;
    /** The summary events due by time ({@link #intervalSummary}), by identity. */
    private final Set<StreamEvent> intervalSummaries = Collections.newSetFromMap(new IdentityHashMap<>());
    private long resets;
    private long nonFiniteMemories;
    private long writeBacks;
    private long writeBackBytes;
    private long logWrites;
    private long rebuilds;
    private long rebuiltTokens;
    private long lastBundleStateBytes;
    /**
     * Passes launched and not finished, oldest first (only where the engine runs them apart): a group's
     * last pass, and behind it at most one more launched ahead ({@link #launchesAhead}).
     */
    private final java.util.ArrayDeque<Pending> inFlight = new java.util.ArrayDeque<>();
    private long passSerial;
    /** Passes in flight at most: the one the engine runs and the next, queued behind it. */
    private static final int MAX_IN_FLIGHT = 2;
    /** Results of the finished bundle not yet emitted (emitted once the next bundle's pass is launched). */
    private final List<StreamResult> ready = new ArrayList<>();

    /**
     * @param slots     the engine's resident slots the cache manages (closed with the core)
     * @param tokenizer decodes generated ids into text; null for none
     */
    BundleCore(GatedDeltaNetModel model, ResidentStreams slots, EventScorer scorer, ModelTokenizer tokenizer,
            Settings settings, Store store) {
        this.model = model;
        this.cache = new MemoryCache(slots);
        this.scorer = scorer;
        this.settings = settings;
        this.store = store;
        this.generating = new Generations(new Generator(model), slots, scorer, tokenizer, settings.maxConcurrent(),
                intervalSummaries::remove);
    }

    /**
     * Runs a bundle: each key's events in order, many keys in one forward pass, results to {@code out} per
     * key in event order. A bundle with more keys than slots runs as groups of at most that many (results do
     * not depend on the batch, so the bytes are the same).
     *
     * @param now the time of the bundle, for the idle TTL of resident streams
     */
    void run(Map<String, List<StreamEvent>> bundle, long now, Emitter out) throws Exception {
        List<String> keys = new ArrayList<>(bundle.keySet());
        long stateBytes = 0;
        // what comes out directly (refusals) waits for the results of the bundles before it
        Emitter inOrder = r -> {
            emitReady(out);
            out.emit(r);
        };
        for (int from = 0; from < keys.size(); from += cache.capacity()) {
            stateBytes += runGroup(keys.subList(from, Math.min(keys.size(), from + cache.capacity())), bundle, now,
                    inOrder);
        }
        if (!settings.keepResident()) {
            cache.writeBackAndClear(this::writeBack);
        }
        // the bundle before this one, emitted while this one's pass runs
        emitReady(out);
        lastBundleStateBytes = stateBytes;
    }

    /**
     * Whether the bundle's last pass may still be running when {@link #run} returns: where the engine
     * advances apart from the caller's thread (the GPU) and memories stay resident. Its results come out
     * by {@link #finishPending}, or when a later {@link #run} needs its streams settled, whichever is first;
     * a bundle whose streams are all resident launches its pass behind it without waiting
     * ({@link #launchesAhead}).
     */
    boolean pipelined() {
        return settings.keepResident() && cache.slots().advancesAsync();
    }

    /** A number for the newest pass still running (0 when none), for {@link #finishPending(long, Emitter)}. */
    long pendingPass() {
        return inFlight.isEmpty() ? 0 : inFlight.peekLast().serial;
    }

    /** Passes launched and not finished. */
    int passesInFlight() {
        return inFlight.size();
    }

    /** Calls {@code done} (on any thread) when the newest pass still running has finished on the engine; at once if none is. */
    void whenPassDone(Runnable done) {
        if (inFlight.isEmpty()) {
            done.run();
        } else {
            inFlight.peekLast().launched.scored.whenComplete((r, t) -> done.run());
        }
    }

    /** Finishes every pass still running, oldest first, and emits every result held back. */
    void finishPending(Emitter out) throws Exception {
        completeAll();
        emitReady(out);
    }

    /**
     * Finishes the passes still running up to and including {@code pass} (a number from
     * {@link #pendingPass}), oldest first, and emits their results; nothing when they are finished already.
     */
    void finishPending(long pass, Emitter out) throws Exception {
        if (!inFlight.isEmpty() && inFlight.peekFirst().serial <= pass) {
            while (!inFlight.isEmpty() && inFlight.peekFirst().serial <= pass) {
                completeOldest();
            }
            emitReady(out);
        }
    }

    /**
     * A summary due by time for {@code key} (gdn.summary.interval), to be buffered behind its events; null
     * when the stream has no memory (never seen, or forgotten by the idle TTL).
     *
     * @param buffered whether the stream has events buffered now
     */
    StreamEvent intervalSummary(String key, boolean buffered) throws Exception {
        if (cache.get(key) == null && !buffered && store.read(key) == null && store.readLog(key) == null) {
            return null;
        }
        StreamEvent summary = StreamEvent.generate(key, "summary", settings.summarySpec());
        intervalSummaries.add(summary);
        return summary;
    }

    /**
     * Writes every dirty resident memory back to the store; they stay resident. {@code later}: the copies
     * may still be arriving (whatever reads them waits), for the barrier.
     */
    void writeBackDirty(boolean later) throws Exception {
        if (!inFlight.isEmpty() || !ready.isEmpty()) {
            throw new IllegalStateException("a bundle's results are not emitted yet: finishPending comes first");
        }
        cache.writeBackDirty(this::writeBack, later);
    }

    /** Runs the events of {@code keys} (at most one slot each) and emits their results; returns state bytes. */
    private long runGroup(List<String> keys, Map<String, List<StreamEvent>> bundle, long now, Emitter out)
            throws Exception {
        if (launchesAhead(keys, bundle, now)) {
            // every stream resident, nothing but tokens: the pass queues behind the ones in flight
            while (inFlight.size() >= MAX_IN_FLIGHT) {
                completeOldest();
            }
        } else {
            // the passes still running belong to earlier keys: finished (and their streams reset where they
            // turned non-finite) before this group's streams take any slot
            completeAll();
        }
        List<KeyWork> work = new ArrayList<>(keys.size());
        long stateBytes = 0;
        // first the resident keys (now the most recently used) and how many are not: room for those is
        // made at once, the dirty memories leaving the cache copied out together
        MemoryCache.Entry[] resident = new MemoryCache.Entry[keys.size()];
        int missing = 0;
        for (int i = 0; i < resident.length; i++) {
            String key = keys.get(i);
            MemoryCache.Entry e = cache.get(key);
            if (e != null && settings.idleTtlMillis() > 0 && now - e.lastTouched >= settings.idleTtlMillis()) {
                // idle past the TTL while resident: forgotten, as keyed state forgets it
                cache.discard(key);
                store.forget(key, true);
                e = null;
            }
            resident[i] = e;
            missing += e == null ? 1 : 0;
        }
        cache.makeRoom(missing, this::writeBack);
        for (int i = 0; i < resident.length; i++) {
            String key = keys.get(i);
            List<StreamEvent> events = bundle.get(key);
            MemoryCache.Entry e = resident[i];
            if (e == null) {
                StreamMemory m = store.read(key);
                TokenLogFormat.Log log = store.readLog(key);
                TokenLogFormat.checkContinues(log, m, key);
                long base = m == null ? 0 : m.tokensConsumed();
                String refused = m == null && log == null ? store.refuseNewStream() : null;
                if (refused != null) {
                    for (StreamEvent ev : events) {
                        out.emit(scorer.errorResult(ev, refused));
                    }
                    continue;
                }
                boolean legacy = false;
                if (m != null && !m.isBound() && m.tokensConsumed() > 0) {
                    // a memory of format version 2 or older: its last hidden state was kept beside it (set on
                    // a copy: the stored object may be the state backend's own)
                    m = m.copy();
                    m.setLastHidden(store.legacyHidden(key));
                    legacy = true;
                }
                e = cache.admit(key, m, this::writeBack);
                e.legacyHidden = legacy;
                e.baseTokens = base;
                boolean tails = settings.logTokens() > 0 && (m == null || settings.idleTtlMillis() == 0) && !legacy;
                e.tail = tails ? new int[0] : null;
                if (log != null) {
                    e.logStored = true;
                    // consumed now; kept as the tail unless tails are off here (the next write is the memory)
                    e.tail = tails ? log.tokens() : null;
                    e.tokens = base + log.tokens().length;
                    e.prefix = log.tokens().length > 0 ? log.tokens() : null;
                }
            }
            e.lastTouched = now;
            stateBytes += cache.slots().bytesPerSlot();
            KeyWork kw = new KeyWork(e, events);
            if (settings.countsEvents()) {
                kw.eventsSeen = store.eventCount(key);
                kw.eventsAtStart = kw.eventsSeen;
            }
            work.add(kw);
        }
        cache.loadAdmitted();
        // streams loaded with a token log: rebuilt in the pass of their first stretch when the two
        // together stay below the chunk length (the token-by-token path), else first, in a pass of their own
        List<MemoryCache.Entry> rebuild = new ArrayList<>();
        for (KeyWork w : work) {
            int[] prefix = w.entry.prefix;
            if (prefix != null && (w.events.get(0).isControl()
                    || prefix.length + w.tokensBeforeControl() > TokenLogFormat.MAX_TOKENS)) {
                rebuild.add(w.entry);
            }
        }
        rebuild(rebuild);
        // rounds: each key contributes its next stretch of events up to (not including) a control
        boolean more = true;
        while (more) {
            more = false;
            runControls(work);
            List<KeyWork> active = new ArrayList<>();
            for (KeyWork w : work) {
                List<StreamEvent> stretch = w.nextStretch(w.entry.tokens, settings.summaryEveryTokens(),
                        settings.summaryEveryEvents());
                if (!stretch.isEmpty()) {
                    active.add(w);
                    w.stretch = stretch;
                    w.stretchTokens = concat(stretch);
                }
                more |= w.hasMore();
            }
            if (!active.isEmpty()) {
                boolean last = !more && pipelined();
                Launched pass = launch(active, last);
                if (last) {
                    // the group's last pass runs on while the caller reads on; finished later
                    inFlight.addLast(new Pending(work, pass, ++passSerial));
                    return stateBytes;
                }
                finish(pass);
                summarize(active);
            }
        }
        finishGroup(work);
        return stateBytes;
    }

    /** The group's event counts written, its results queued to be emitted, in key order. */
    private void finishGroup(List<KeyWork> work) throws Exception {
        if (settings.countsEvents()) {
            for (KeyWork w : work) {
                if (w.eventsSeen != w.eventsAtStart || w.countReset) {
                    store.setEventCount(w.entry.key, w.eventsSeen);
                }
            }
        }
        for (KeyWork w : work) {
            ready.addAll(w.results);
        }
    }

    /**
     * Whether a group's pass may be launched while earlier passes are still in flight, without finishing
     * them first: where passes run apart, with no summary policy by count (a summary forks a memory as it
     * stands after its event), and when every key of the group is resident (no slot changes hands, none
     * is loaded), within its idle TTL, and brings only tokens (no reset, no generation). Such a pass
     * touches only its own streams' slots, after the passes before it on the engine; what finishing an
     * earlier pass may still do to a shared stream (a memory turned non-finite starts afresh) is made good
     * when it happens ({@link #finish}).
     */
    private boolean launchesAhead(List<String> keys, Map<String, List<StreamEvent>> bundle, long now) {
        if (inFlight.isEmpty() || !pipelined() || settings.summaryEveryTokens() > 0
                || settings.summaryEveryEvents() > 0) {
            return false;
        }
        for (String key : keys) {
            MemoryCache.Entry e = cache.get(key);
            if (e == null || settings.idleTtlMillis() > 0 && now - e.lastTouched >= settings.idleTtlMillis()) {
                return false;
            }
            for (StreamEvent ev : bundle.get(key)) {
                if (ev.isControl()) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Finishes every pass in flight, oldest first. */
    private void completeAll() throws Exception {
        while (!inFlight.isEmpty()) {
            completeOldest();
        }
    }

    /** Finishes the oldest pass in flight (its results, summaries and counts), queuing its results. */
    private void completeOldest() throws Exception {
        Pending p = inFlight.pollFirst();
        finish(p.launched);
        summarize(p.launched.active);
        finishGroup(p.work);
    }

    private void emitReady(Emitter out) throws Exception {
        if (ready.isEmpty()) {
            return;
        }
        long t0 = System.nanoTime();
        int emitted = ready.size();
        for (StreamResult r : ready) {
            out.emit(r);
        }
        ready.clear();
        OperatorStats.emit(System.nanoTime() - t0, emitted);
    }

    /** A group whose last pass was launched and not finished, and its number. */
    private record Pending(List<KeyWork> work, Launched launched, long serial) {
    }

    /**
     * A forward pass launched over the stretches of {@code active}: what its results are made from;
     * {@code redone}: streams (by index in {@code active}) whose stretch ran again on a fresh memory after
     * the pass (see {@link #redo}).
     */
    private record Launched(List<KeyWork> active, List<EventScorer.Stretch> stretches, EventScorer.Plan plan,
            java.util.concurrent.CompletableFuture<ResidentStreams.Scored> scored, Map<Integer, Redone> redone) {
        Launched(List<KeyWork> active, List<EventScorer.Stretch> stretches, EventScorer.Plan plan,
                java.util.concurrent.CompletableFuture<ResidentStreams.Scored> scored) {
            this(active, stretches, plan, scored, new java.util.HashMap<>());
        }
    }

    /** One stream's stretch run again alone, and what that gave. */
    private record Redone(EventScorer.Stretch stretch, EventScorer.Plan plan, ResidentStreams.Scored scored) {
    }

    /**
     * Launches one forward pass over the stretches of {@code active}, scored ({@code apart}: on the engine's
     * own thread, see {@link ResidentStreams#advanceScoredAsync}); the streams' token counts move at once.
     */
    private Launched launch(List<KeyWork> active, boolean apart) {
        int n = active.size();
        int[] slots = new int[n];
        int[] offsets = new int[n + 1];
        for (int i = 0; i < n; i++) {
            MemoryCache.Entry e = active.get(i).entry;
            slots[i] = e.slot;
            offsets[i + 1] = offsets[i] + (e.prefix == null ? 0 : e.prefix.length) + active.get(i).stretchTokens.length;
        }
        int[] flat = new int[offsets[n]];
        List<EventScorer.Stretch> stretches = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            KeyWork w = active.get(i);
            int[] prefix = w.entry.prefix;
            int p = prefix == null ? 0 : prefix.length;
            if (p > 0) {
                // the memory rebuilt from the stream's tokens in this same pass, just before its stretch
                System.arraycopy(prefix, 0, flat, offsets[i], p);
                rebuilds++;
                rebuiltTokens += p;
                w.entry.prefix = null;
            }
            System.arraycopy(w.stretchTokens, 0, flat, offsets[i] + p, w.stretchTokens.length);
            stretches.add(new EventScorer.Stretch(w.stretch, w.stretchTokens, offsets[i] + p,
                    p > 0 || cache.slots().hasLastHidden(w.entry.slot), w.entry.tokens + w.stretchTokens.length, p > 0));
        }
        EventScorer.Plan plan = scorer.plan(stretches);
        long t0 = System.nanoTime();
        var scored = apart ? cache.slots().advanceScoredAsync(slots, offsets, flat, plan.rows(), scorer.needsHidden())
                : java.util.concurrent.CompletableFuture.completedFuture(
                        cache.slots().advanceScored(slots, offsets, flat, plan.rows(), scorer.needsHidden()));
        OperatorStats.advance(System.nanoTime() - t0);
        for (KeyWork w : active) {
            consumed(w.entry, w.stretchTokens);
        }
        return new Launched(active, stretches, plan, scored);
    }

    /** What an entry keeps of a stretch its slot consumes: its token count, dirty, its token tail. */
    private void consumed(MemoryCache.Entry e, int[] tokens) {
        e.tokens += tokens.length;
        e.dirty = true;
        if (e.tail != null) {
            e.tail = e.tail.length + tokens.length <= settings.logTokens() ? append(e.tail, tokens) : null;
        }
    }

    /**
     * A stream whose memory turned non-finite in a pass and started afresh, where a later pass (launched
     * ahead) already ran its next stretch on that memory: each such stretch runs again alone on the fresh
     * memory, after every pass in flight, and its results replace the later pass's (as if the passes had
     * run one after the other). Called with the stream's slot reset.
     */
    private void redo(MemoryCache.Entry entry) {
        for (Pending later : inFlight) {
            List<KeyWork> active = later.launched.active;
            for (int j = 0; j < active.size(); j++) {
                KeyWork w = active.get(j);
                if (w.entry != entry) {
                    continue;
                }
                int n = w.stretchTokens.length;
                EventScorer.Stretch st = new EventScorer.Stretch(w.stretch, w.stretchTokens, 0,
                        cache.slots().hasLastHidden(entry.slot), entry.tokens + n);
                EventScorer.Plan plan = scorer.plan(List.of(st));
                ResidentStreams.Scored scored = cache.slots().advanceScored(new int[] {entry.slot}, new int[] {0, n},
                        w.stretchTokens, plan.rows(), scorer.needsHidden());
                consumed(entry, w.stretchTokens);
                later.launched.redone.put(j, new Redone(st, plan, scored));
            }
        }
    }

    /** Waits for a launched pass and appends each key's results (a stream that turned non-finite starts afresh). */
    private void finish(Launched pass) throws Exception {
        long t0 = System.nanoTime();
        ResidentStreams.Scored advanced = join(pass.scored);
        long t1 = System.nanoTime();
        OperatorStats.advance(t1 - t0);
        List<KeyWork> active = pass.active;
        List<EventScorer.Stretch> stretches = pass.stretches;
        int n = active.size();
        int[] nonFinite = new int[n];
        StreamResult[][] scored = scorer.results(stretches, pass.plan, advanced.scores(), advanced.hidden(), nonFinite);
        for (var r : pass.redone.entrySet()) {
            Redone again = r.getValue();
            int[] nf = new int[1];
            scored[r.getKey()] = scorer.results(List.of(again.stretch), again.plan, again.scored.scores(),
                    again.scored.hidden(), nf)[0];
            nonFinite[r.getKey()] = nf[0];
        }
        OperatorStats.score(System.nanoTime() - t1);
        for (int i = 0; i < n; i++) {
            KeyWork w = active.get(i);
            for (int e = 0; e < scored[i].length; e++) {
                boolean failed = nonFinite[i] >= 0 && e >= nonFinite[i];
                w.results.add(failed
                        ? scorer.errorResult(w.stretch.get(e), NON_FINITE) : scored[i][e]);
            }
            if (nonFinite[i] >= 0) {
                // the stream starts afresh, as after a reset: its memory may hold the non-finite values; the
                // passes launched behind this one finish on the engine first (none races the reset), and a
                // stretch of this stream among them runs again on the fresh memory
                for (Pending later : inFlight) {
                    join(later.launched.scored);
                }
                w.startAfresh(cache.slots(), settings.logTokens());
                redo(w.entry);
                nonFiniteMemories++;
                LOG.error("stream '{}': {} (events from {} of the bundle)", Reasons.quote(w.entry.key), NON_FINITE,
                        w.stretch.get(nonFinite[i]).id);
            }
        }
    }

    private static ResidentStreams.Scored join(java.util.concurrent.CompletableFuture<ResidentStreams.Scored> f)
            throws Exception {
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        }
    }

    /**
     * The control events at the head of each key's remaining events, in event order: resets at once, and
     * generations batched across keys (at most {@code gdn.generate.max-concurrent} in one call), each on a
     * copy of its stream's memory as it stands after the events before it.
     */
    private void runControls(List<KeyWork> work) {
        while (true) {
            List<KeyWork> asking = new ArrayList<>();
            List<StreamEvent> events = new ArrayList<>();
            for (KeyWork w : work) {
                resets += w.applyResets(cache.slots(), scorer, settings.logTokens());
                if (w.hasMore() && w.events.get(w.next).generate != null) {
                    asking.add(w);
                    events.add(w.events.get(w.next));
                    w.next++;
                }
            }
            if (asking.isEmpty()) {
                return;
            }
            generating.generate(asking, events, StreamResult.Kind.GENERATE);
        }
    }

    /**
     * The summary policies by count ({@code gdn.summary.every-tokens}, {@code gdn.summary.every-events}): a
     * stream whose last stretch ended on the event that took its token count past a multiple of N, or its
     * event count to a multiple of M, gets a summary, generated from a copy of its memory as it stands after
     * that event, with id {@code summary@<tokens consumed>}.
     */
    private void summarize(List<KeyWork> active) {
        int everyTokens = settings.summaryEveryTokens();
        int everyEvents = settings.summaryEveryEvents();
        if (everyTokens <= 0 && everyEvents <= 0) {
            return;
        }
        List<KeyWork> due = new ArrayList<>();
        List<StreamEvent> events = new ArrayList<>();
        for (KeyWork w : active) {
            long after = w.entry.tokens;
            long before = after - w.stretchTokens.length;
            long eventsBefore = w.eventsSeen;
            w.eventsSeen += w.stretch.size();
            boolean byTokens = everyTokens > 0 && before / everyTokens < after / everyTokens;
            boolean byEvents = everyEvents > 0 && eventsBefore / everyEvents < w.eventsSeen / everyEvents;
            if (byTokens || byEvents) {
                due.add(w);
                events.add(StreamEvent.generate(w.entry.key, "summary@" + after, settings.summarySpec()));
            }
        }
        if (!due.isEmpty()) {
            generating.generate(due, events, StreamResult.Kind.SUMMARY);
        }
    }

    /**
     * Writes a resident stream's memory back to the store, bound to its key. A memory that holds NaN or
     * infinity is never written: the stream's stored memory is forgotten instead (it starts afresh), with
     * an ERROR line (checked on complete memories; one still arriving from the GPU was checked through its
     * advance's results).
     */
    private void writeBack(MemoryCache.Entry e, StreamMemory out) throws Exception {
        e.dirty = false;
        if (out == null) {
            // kept as its tokens since its base (running them again on it gives this memory)
            boolean dropMemory = e.baseTokens == 0 && e.memoryStored;
            store.writeLog(e.key, e.baseTokens, e.tail, dropMemory);
            e.memoryStored &= !dropMemory;
            e.logStored = true;
            logWrites++;
            writeBacks++;
            writeBackBytes += 4L * e.tail.length;
            OperatorStats.writeBack(4L * e.tail.length);
            return;
        }
        // a memory still arriving from the GPU (the barrier's write-back) is not read here: that would make
        // the barrier wait for every copy; a memory turns non-finite only in an advance, whose results are
        // checked (the stream starts afresh there), so this check is a second guard for complete memories
        if (out.isComplete() && !out.isFinite()) {
            store.forget(e.key, false);
            nonFiniteMemories++;
            LOG.error("stream '{}': its memory holds NaN or infinity and is not written to state; the stream "
                    + "starts afresh", Reasons.quote(e.key));
            return;
        }
        out.bindTo(StreamBinding.digest(e.key));
        store.write(e.key, out, e.legacyHidden, e.logStored);
        e.memoryStored = true;
        e.logStored = false;
        e.legacyHidden = false;
        // the memory just written is the base of what the stream consumes next
        e.baseTokens = e.tokens;
        e.tail = settings.logTokens() > 0 ? new int[0] : null;
        writeBacks++;
        writeBackBytes += cache.slots().bytesPerSlot();
        OperatorStats.writeBack(cache.slots().bytesPerSlot());
    }

    /**
     * Rebuilds the memories of streams loaded with a token log, for those whose next stretch cannot
     * take them along: their slots (cleared on admission) consume those tokens in one forward pass, each
     * stream's tokens as one stretch, as they first ran (below the chunk length: the same token-by-token
     * path, so on the CPU the same memory bit for bit).
     */
    private void rebuild(List<MemoryCache.Entry> entries) {
        if (entries.isEmpty()) {
            return;
        }
        int n = entries.size();
        int[] slots = new int[n];
        int[] offsets = new int[n + 1];
        for (int i = 0; i < n; i++) {
            slots[i] = entries.get(i).slot;
            offsets[i + 1] = offsets[i] + entries.get(i).prefix.length;
        }
        int[] flat = new int[offsets[n]];
        for (int i = 0; i < n; i++) {
            MemoryCache.Entry e = entries.get(i);
            System.arraycopy(e.prefix, 0, flat, offsets[i], e.prefix.length);
            e.prefix = null;
        }
        long t0 = System.nanoTime();
        cache.slots().advanceScored(slots, offsets, flat, NO_ROWS, false);
        OperatorStats.advance(System.nanoTime() - t0);
        rebuilds += n;
        rebuiltTokens += flat.length;
    }

    private static final ResidentStreams.ScoreRows NO_ROWS = new ResidentStreams.ScoreRows(new int[0], new int[0],
            new boolean[0], 0);

    /** Streams written back as token logs (a part of {@link #writeBacks}). */
    long logWrites() {
        return logWrites;
    }

    /** Streams whose memories were rebuilt from their token logs, and the tokens that took. */
    long rebuilds() {
        return rebuilds;
    }

    long rebuiltTokens() {
        return rebuiltTokens;
    }

    /** Streams resident in the cache now. */
    int residentStreams() {
        return cache.size();
    }

    /** Streams that left their slot to make room for another. */
    long evictions() {
        return cache.evictions();
    }

    /** Memories written back to the store so far. */
    long writeBacks() {
        return writeBacks;
    }

    long writeBackBytes() {
        return writeBackBytes;
    }

    long resets() {
        return resets;
    }

    long generations() {
        return generating.generations();
    }

    long generatedTokens() {
        return generating.generatedTokens();
    }

    /** Streams whose memory turned NaN or infinite (and started afresh). */
    long nonFiniteMemories() {
        return nonFiniteMemories;
    }

    /** Bytes of resident memory the last bundle touched. */
    long lastBundleStateBytes() {
        return lastBundleStateBytes;
    }

    /** Bytes of one slot. */
    long bytesPerSlot() {
        return cache.slots().bytesPerSlot();
    }

    GatedDeltaNetModel model() {
        return model;
    }

    @Override
    public void close() {
        // a failed or cancelled job: the passes finish on the engine before their slots go; their results are dropped
        for (Pending p : inFlight) {
            p.launched.scored.handle((r, t) -> r).join();
        }
        inFlight.clear();
        generating.close();
        cache.close();
    }

    private static int[] append(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static int[] concat(List<StreamEvent> events) {
        int n = 0;
        for (StreamEvent e : events) {
            n += e.tokens.length;
        }
        int[] out = new int[n];
        int o = 0;
        for (StreamEvent e : events) {
            System.arraycopy(e.tokens, 0, out, o, e.tokens.length);
            o += e.tokens.length;
        }
        return out;
    }
}
