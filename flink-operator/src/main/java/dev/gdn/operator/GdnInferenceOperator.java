package dev.gdn.operator;

import dev.gdn.kernels.cuda.ChunkPrecision;
import dev.gdn.kernels.cuda.MatmulPrecision;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.state.MemoryLayout;
import dev.gdn.state.ModelChangePolicy;
import dev.gdn.state.StorageDType;
import dev.gdn.state.StreamBinding;
import dev.gdn.state.StreamMemorySerializer;
import dev.gdn.state.StreamMemoryState;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Meter;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * The keyed inference operator: it advances each stream's memory with its events, batching many
 * streams into one forward pass.
 *
 * <p>Behaviour:
 * <ul>
 *   <li>Events are buffered per key, in arrival order. A <em>bundle</em> is flushed when it holds
 *       {@code gdn.batch.max-keys} keys or {@code gdn.batch.max-tokens} tokens, when its oldest event
 *       has waited {@code gdn.batch.max-delay}, before every checkpoint barrier
 *       ({@link #prepareSnapshotPreBarrier}), and at end of input. The buffer is therefore always empty
 *       when state is snapshotted: nothing but the memories needs checkpointing.</li>
 *   <li>A flush reads each key's memory from keyed state, runs one batched forward over all keys (each
 *       key's events as one stretch of tokens), writes each memory back and emits one result per event,
 *       in per-key order. A {@code reset} control event clears the memory at its place in the order (the
 *       key's events before and after it run in separate passes).</li>
 *   <li>A key's results do not depend on the other keys in its bundle (the kernels are batch-invariant),
 *       so a replay after a failure gives the same bytes whatever the bundles were.</li>
 * </ul>
 * Timer lifecycle: the first event of an empty buffer registers one processing-time timer at
 * {@code now + max-delay}; a flush for any reason leaves it registered but makes it stale (it checks
 * the bundle generation and does nothing); the next event of an empty buffer registers a new one.
 */
public final class GdnInferenceOperator extends AbstractStreamOperator<Tuple2<String, String>>
        implements OneInputStreamOperator<StreamEvent, Tuple2<String, String>>, BoundedOneInput,
        org.apache.flink.streaming.api.operators.Triggerable<String, org.apache.flink.runtime.state.VoidNamespace> {
    private static final long serialVersionUID = 1L;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GdnInferenceOperator.class);

    private final Configuration config;
    private transient boolean restored;
    private transient boolean onHeap;
    private transient long heapLimit;
    private transient long bytesPerStream;
    private transient boolean heapFullLogged;
    private transient Counter streamsRefused;
    private transient Counter nonFiniteMemories;
    private transient HeapEntries heapEntries;
    private transient MemoryCache cache;
    private transient boolean cacheEnabled;
    private transient long idleTtlMillis;
    private transient Counter writeBacks;
    private transient Counter writeBackBytes;
    private transient Histogram barrierWriteBackMillis;

    private transient GatedDeltaNetModel model;
    private transient StreamMemorySerializer serializer;
    private transient ValueState<StreamMemory> memoryState;
    private transient ValueState<float[]> lastHiddenState;
    private transient EventScorer scorer;
    private transient dev.gdn.text.ModelTokenizer tokenizer;
    private transient Generations generating;
    private transient int summaryEvery;
    private transient int summaryEveryEvents;
    private transient long summaryIntervalMillis;
    private transient GenerateSpec summarySpec;
    /** Per stream: its events with tokens since its start or last reset (with gdn.summary.every-events). */
    private transient ValueState<Long> eventCount;
    /** Per stream: when its interval summary is due (with gdn.summary.interval; absent: no timer set). */
    private transient ValueState<Long> summaryDue;
    private transient org.apache.flink.streaming.api.operators.InternalTimerService<
            org.apache.flink.runtime.state.VoidNamespace> summaryTimers;
    /** The summary events the interval timers put into the buffer (by identity). */
    private transient java.util.Set<StreamEvent> intervalSummaries;
    private transient Map<String, List<StreamEvent>> pending;
    private transient int pendingTokens;
    private transient long generation;
    private transient int maxKeys;
    private transient int maxTokens;
    private transient long maxDelayMillis;

    private transient Histogram bundleKeys;
    private transient Histogram bundleTokens;
    private transient Histogram bundleMillis;
    private transient Meter tokensPerSecond;
    private transient Counter resets;
    private transient Counter generations;
    private transient Counter generatedTokens;
    private transient long lastBundleStateBytes;

    /**
     * @param config the job's options ({@link GdnOptions}); validated here
     * @throws IllegalArgumentException naming an invalid option
     */
    public GdnInferenceOperator(Configuration config) {
        GdnOptions.validate(config);
        if (!config.getOptional(GdnOptions.MODEL_PATH).isPresent()) {
            throw new IllegalArgumentException(GdnOptions.MODEL_PATH.key() + " is not set");
        }
        this.config = config;
    }

    @Override
    public void initializeState(org.apache.flink.runtime.state.StateInitializationContext context) throws Exception {
        super.initializeState(context);
        restored = context.isRestored();
    }

    @Override
    public void open() throws Exception {
        super.open();
        GpuSelection.Choice gpu = GpuSelection.choose(config.get(GdnOptions.CUDA_DEVICE),
                getRuntimeContext().getExternalResourceInfos(GpuSelection.RESOURCE));
        model = ModelCache.get(config.get(GdnOptions.MODEL_PATH), config.get(GdnOptions.CPU_THREADS),
                config.get(GdnOptions.BACKEND), MatmulPrecision.parse(config.get(GdnOptions.MATMUL_PRECISION)),
                ChunkPrecision.parse(config.get(GdnOptions.CHUNK_PRECISION)),
                dev.gdn.kernels.cuda.StatePrecision.parse(config.get(GdnOptions.STATE_PRECISION)), gpu.device());
        if (model.engine().isPresent()) {
            LOG.info("model {} on {}", config.get(GdnOptions.MODEL_PATH), gpu.why());
        }
        serializer = new StreamMemorySerializer(MemoryLayout.of(model.config()), model.fingerprint(),
                StorageDType.valueOf(config.get(GdnOptions.STORAGE).toUpperCase(Locale.ROOT)),
                ModelChangePolicy.valueOf(config.get(GdnOptions.ON_MODEL_CHANGE).toUpperCase(Locale.ROOT)));
        memoryState = getRuntimeContext().getState(
                StreamMemoryState.descriptor(serializer, config.get(GdnOptions.IDLE_TTL)));
        ValueStateDescriptor<float[]> hidden = new ValueStateDescriptor<>("last-hidden",
                PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO);
        if (!config.get(GdnOptions.IDLE_TTL).isZero()) {
            hidden.enableTimeToLive(StateTtlConfig.newBuilder(config.get(GdnOptions.IDLE_TTL))
                    .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired).build());
        }
        lastHiddenState = getRuntimeContext().getState(hidden);
        onHeap = getKeyedStateBackend() instanceof org.apache.flink.runtime.state.heap.HeapKeyedStateBackend;
        heapLimit = HeapBudget.limit(config.get(GdnOptions.MAX_HEAP_FRACTION));
        // what a memory costs on the heap: its floats, plus its last hidden state
        bytesPerStream = serializer.layout().floats() * 4 + model.config().hiddenSize() * 4L + 1024;
        cacheEnabled = config.get(GdnOptions.CACHE_ENABLED);
        idleTtlMillis = config.get(GdnOptions.IDLE_TTL).toMillis();
        cache = new MemoryCache(model.residentStreams(cacheSlots()));
        boolean hostSlots = model.engine().isEmpty();
        if (onHeap) {
            var heap = (org.apache.flink.runtime.state.heap.HeapKeyedStateBackend<?>) getKeyedStateBackend();
            // counting the entries walks every one of them: at most once a second, on this operator's thread
            heapEntries = new HeapEntries(() -> heap.numKeyValueStateEntries(
                    org.apache.flink.runtime.state.VoidNamespace.INSTANCE), hostSlots ? cache::size : () -> 0);
            HeapBudget.register(this, () -> heapEntries.estimate() * bytesPerStream);
        }
        if (restored && (config.get(GdnOptions.VERIFY_ON_RESTORE) || onHeap)) {
            verifyRestoredMemories();
        }
        java.util.function.IntFunction<String> decode = null;
        String modelPath = config.get(GdnOptions.MODEL_PATH);
        java.nio.file.Path dir = java.nio.file.Path.of(modelPath.startsWith("bench:") ? "." : modelPath);
        tokenizer = modelPath.startsWith("bench:") ? null : dev.gdn.text.ModelTokenizer.forModel(dir).orElse(null);
        if (config.get(GdnOptions.DECODE_TOP_K)) {
            if (tokenizer == null) {
                throw new IllegalArgumentException(GdnOptions.DECODE_TOP_K.key() + " is true but the model folder " + dir
                        + " has no " + dev.gdn.text.ModelTokenizer.FILE);
            }
            dev.gdn.text.ModelTokenizer t = tokenizer;
            decode = id -> t.tryDecode(new int[] {id}).orElse(null);
        }
        summaryEvery = config.get(GdnOptions.SUMMARY_EVERY_TOKENS);
        summaryEveryEvents = config.get(GdnOptions.SUMMARY_EVERY_EVENTS);
        summaryIntervalMillis = config.get(GdnOptions.SUMMARY_INTERVAL).toMillis();
        if (summaryEvery > 0 || summaryEveryEvents > 0 || summaryIntervalMillis > 0) {
            summarySpec = Generations.summarySpec(config, tokenizer, dir);
        }
        if (summaryEveryEvents > 0) {
            ValueStateDescriptor<Long> d = new ValueStateDescriptor<>("summary-event-count",
                    org.apache.flink.api.common.typeinfo.Types.LONG);
            if (!config.get(GdnOptions.IDLE_TTL).isZero()) {
                d.enableTimeToLive(StateTtlConfig.newBuilder(config.get(GdnOptions.IDLE_TTL))
                        .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired).build());
            }
            eventCount = getRuntimeContext().getState(d);
        }
        intervalSummaries = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        if (summaryIntervalMillis > 0) {
            summaryDue = getRuntimeContext().getState(new ValueStateDescriptor<>("summary-due",
                    org.apache.flink.api.common.typeinfo.Types.LONG));
            summaryTimers = getInternalTimerService("gdn-summary-interval",
                    org.apache.flink.runtime.state.VoidNamespaceSerializer.INSTANCE, this);
        }
        scorer = new EventScorer(model, config.get(GdnOptions.TOP_K), config.get(GdnOptions.EMIT_EMBEDDING), decode);
        pending = new LinkedHashMap<>();
        maxKeys = config.get(GdnOptions.BATCH_MAX_KEYS);
        maxTokens = config.get(GdnOptions.BATCH_MAX_TOKENS);
        maxDelayMillis = config.get(GdnOptions.BATCH_MAX_DELAY).toMillis();

        var g = getMetricGroup().addGroup("gdn");
        bundleKeys = g.histogram("bundleKeys", new DescriptiveStatisticsHistogram(1000));
        bundleTokens = g.histogram("bundleTokens", new DescriptiveStatisticsHistogram(1000));
        bundleMillis = g.histogram("bundleComputeMillis", new DescriptiveStatisticsHistogram(1000));
        tokensPerSecond = g.meter("tokensPerSecond", new MeterView(10));
        resets = g.counter("resets");
        generations = g.counter("generations");
        generatedTokens = g.counter("generatedTokens");
        streamsRefused = g.counter("streamsRefused");
        nonFiniteMemories = g.counter("nonFiniteMemories");
        writeBacks = g.counter("cacheWriteBacks");
        writeBackBytes = g.counter("cacheWriteBackBytes");
        barrierWriteBackMillis = g.histogram("barrierWriteBackMillis", new DescriptiveStatisticsHistogram(1000));
        g.gauge("cacheStreams", () -> cache.size());
        g.gauge("cacheEvictions", () -> cache.evictions());
        long storedBytesPerStream = serializer.layout().payloadBytes(serializer.storage());
        g.gauge("stateBytesPerStream", () -> storedBytesPerStream);
        g.gauge("bundleStateBytes", () -> lastBundleStateBytes);
        generating = new Generations(new dev.gdn.kernels.model.Generator(model), cache.slots(), scorer, tokenizer,
                config.get(GdnOptions.GENERATE_MAX_CONCURRENT), generations, generatedTokens, intervalSummaries::remove);
    }

    @Override
    public void processElement(StreamRecord<StreamEvent> element) throws Exception {
        StreamEvent e = element.getValue();
        if (pending.isEmpty()) {
            long bundle = generation;
            long now = getProcessingTimeService().getCurrentProcessingTime();
            getProcessingTimeService().registerTimer(now + maxDelayMillis, t -> {
                if (generation == bundle) {
                    flush();
                }
            });
        }
        if (summaryTimers != null && !e.isControl() && summaryDue.value() == null) {
            // the first event since the last interval summary: the next one is due an interval from now
            long due = getProcessingTimeService().getCurrentProcessingTime() + summaryIntervalMillis;
            summaryTimers.registerProcessingTimeTimer(org.apache.flink.runtime.state.VoidNamespace.INSTANCE, due);
            summaryDue.update(due);
        }
        List<StreamEvent> events = pending.computeIfAbsent(e.stream, k -> new ArrayList<>());
        events.add(e);
        // a generation costs its prompt and up to max_tokens one-token passes
        pendingTokens += e.tokens.length + (e.generate == null ? 0 : e.generate.prompt.length + e.generate.maxTokens);
        if (pending.size() >= maxKeys || pendingTokens >= maxTokens) {
            flush();
        }
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        flush();
        long start = System.nanoTime();
        // the copies of the memories may still be arriving when the barrier passes: the snapshot's
        // serializer waits for them, while the next bundles run
        cache.writeBackDirty(this::writeBack, true);
        long nanos = System.nanoTime() - start;
        barrierWriteBackMillis.update(nanos / 1_000_000);
        OperatorStats.barrier(nanos);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        OperatorStats.checkpointCompleted();
    }

    /**
     * A stream's interval summary is due: it joins the buffer behind the stream's buffered events (so it
     * sees the memory after them) and the buffer runs now. A stream whose memory is gone (idle TTL) gets none.
     */
    @Override
    public void onProcessingTime(org.apache.flink.streaming.api.operators.InternalTimer<String,
            org.apache.flink.runtime.state.VoidNamespace> timer) throws Exception {
        String key = timer.getKey();
        summaryDue.clear();
        if (cache.get(key) == null && !pending.containsKey(key) && memoryState.value() == null) {
            return;
        }
        StreamEvent summary = StreamEvent.generate(key, "summary", summarySpec);
        intervalSummaries.add(summary);
        pending.computeIfAbsent(key, k -> new ArrayList<>()).add(summary);
        pendingTokens += summarySpec.prompt.length + summarySpec.maxTokens;
        flush();
    }

    @Override
    public void onEventTime(org.apache.flink.streaming.api.operators.InternalTimer<String,
            org.apache.flink.runtime.state.VoidNamespace> timer) {
        // no event-time timers
    }

    @Override
    public void endInput() throws Exception {
        flush();
        cache.writeBackDirty(this::writeBack);
    }

    @Override
    public void finish() throws Exception {
        flush();
        cache.writeBackDirty(this::writeBack);
        super.finish();
    }

    /** Streams resident in the memory cache now (visible for testing). */
    int cachedStreams() {
        return cache.size();
    }

    /** Streams that left the cache to make room (visible for testing). */
    long cacheEvictions() {
        return cache.evictions();
    }

    /** Memories written back from the cache to keyed state so far (visible for testing). */
    long cacheWriteBacks() {
        return writeBacks.getCount();
    }

    /** The memory keyed state holds for {@code key} now (null for none), for tests. */
    StreamMemory storedMemory(String key) throws Exception {
        setCurrentKey(key);
        return memoryState.value();
    }

    /** Keys buffered now (visible for testing). */
    int pendingKeys() {
        return pending.size();
    }

    /** Runs every buffered event; a no-op when nothing is buffered (or open failed before the buffer existed). */
    void flush() throws Exception {
        if (pending == null || pending.isEmpty()) {
            return;
        }
        long start = System.nanoTime();
        generation++;
        Map<String, List<StreamEvent>> bundle = pending;
        pending = new LinkedHashMap<>();
        int tokens = pendingTokens;
        pendingTokens = 0;

        // a bundle with more streams than slots runs as groups of at most that many (results do not
        // depend on the batch, so the bytes are the same)
        List<String> keys = new ArrayList<>(bundle.keySet());
        long stateBytes = 0;
        for (int from = 0; from < keys.size(); from += cache.capacity()) {
            stateBytes += runGroup(keys.subList(from, Math.min(keys.size(), from + cache.capacity())), bundle);
        }
        if (!cacheEnabled) {
            cache.writeBackAndClear(this::writeBack);
        }
        long nanos = System.nanoTime() - start;
        bundleKeys.update(bundle.size());
        bundleTokens.update(tokens);
        bundleMillis.update(nanos / 1_000_000);
        tokensPerSecond.markEvent(tokens);
        lastBundleStateBytes = stateBytes;
        OperatorStats.bundle(tokens, nanos);
    }

    /** Runs the events of {@code keys} (at most one slot each) and emits their results; returns state bytes. */
    private long runGroup(List<String> keys, Map<String, List<StreamEvent>> bundle) throws Exception {
        long now = getProcessingTimeService().getCurrentProcessingTime();
        List<KeyWork> work = new ArrayList<>(keys.size());
        long stateBytes = 0;
        // first the resident keys (now the most recently used) and how many are not: room for those is
        // made at once, the dirty memories leaving the cache copied out together
        MemoryCache.Entry[] resident = new MemoryCache.Entry[keys.size()];
        int missing = 0;
        for (int i = 0; i < resident.length; i++) {
            String key = keys.get(i);
            MemoryCache.Entry e = cache.get(key);
            if (e != null && idleTtlMillis > 0 && now - e.lastTouched >= idleTtlMillis) {
                // idle past the TTL while resident: forgotten, as keyed state forgets it
                cache.discard(key);
                setCurrentKey(key);
                memoryState.clear();
                lastHiddenState.clear();
                if (eventCount != null) {
                    eventCount.clear();
                }
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
                setCurrentKey(key);
                StreamMemory stored = read();
                if (stored == null && !admitNewStream()) {
                    for (StreamEvent ev : events) {
                        output.collect(new StreamRecord<>(Tuple2.of(key, scorer.errorResult(ev, heapFullReason()))));
                    }
                    continue;
                }
                StreamMemory m = checked(() -> load(key, stored));
                boolean legacy = false;
                if (m != null && !m.isBound() && m.tokensConsumed() > 0) {
                    // a memory of format version 2 or older: its last hidden state was kept beside it (set on
                    // a copy: the stored object may be the state backend's own)
                    m = m.copy();
                    m.setLastHidden(lastHiddenState.value());
                    legacy = true;
                }
                e = cache.admit(key, m, this::writeBack);
                e.legacyHidden = legacy;
            }
            e.lastTouched = now;
            stateBytes += cache.slots().bytesPerSlot();
            KeyWork kw = new KeyWork(e, events);
            if (eventCount != null) {
                setCurrentKey(key);
                Long seen = eventCount.value();
                kw.eventsSeen = seen == null ? 0 : seen;
                kw.eventsAtStart = kw.eventsSeen;
            }
            work.add(kw);
        }
        cache.loadAdmitted();
        // rounds: each key contributes its next stretch of events up to (not including) a reset
        boolean more = true;
        while (more) {
            more = false;
            runControls(work);
            List<KeyWork> active = new ArrayList<>();
            for (KeyWork w : work) {
                List<StreamEvent> stretch = w.nextStretch(w.entry.tokens, summaryEvery, summaryEveryEvents);
                if (!stretch.isEmpty()) {
                    active.add(w);
                    w.stretch = stretch;
                    w.stretchTokens = concat(stretch);
                }
                more |= w.hasMore();
            }
            if (active.isEmpty()) {
                continue;
            }
            int[] slots = new int[active.size()];
            int[] offsets = new int[active.size() + 1];
            for (int i = 0; i < slots.length; i++) {
                slots[i] = active.get(i).entry.slot;
                offsets[i + 1] = offsets[i] + active.get(i).stretchTokens.length;
            }
            int[] flat = new int[offsets[slots.length]];
            for (int i = 0; i < slots.length; i++) {
                System.arraycopy(active.get(i).stretchTokens, 0, flat, offsets[i], active.get(i).stretchTokens.length);
            }
            List<EventScorer.Stretch> stretches = new ArrayList<>(active.size());
            for (int i = 0; i < active.size(); i++) {
                KeyWork w = active.get(i);
                MemoryCache.Entry e = w.entry;
                stretches.add(new EventScorer.Stretch(w.stretch, w.stretchTokens, offsets[i],
                        cache.slots().hasLastHidden(e.slot), e.tokens + w.stretchTokens.length));
            }
            EventScorer.Plan plan = scorer.plan(stretches);
            long t0 = System.nanoTime();
            var advanced = cache.slots().advanceScored(slots, offsets, flat, plan.rows(), scorer.needsHidden());
            long t1 = System.nanoTime();
            OperatorStats.advance(t1 - t0);
            for (KeyWork w : active) {
                w.entry.tokens += w.stretchTokens.length;
                w.entry.dirty = true;
            }
            int[] nonFinite = new int[active.size()];
            String[][] scored = scorer.results(stretches, plan, advanced.scores(), advanced.hidden(), nonFinite);
            OperatorStats.score(System.nanoTime() - t1);
            for (int i = 0; i < active.size(); i++) {
                KeyWork w = active.get(i);
                if (nonFinite[i] >= 0) {
                    dropNonFinite(w, scored[i], nonFinite[i]);
                }
                w.results.addAll(List.of(scored[i]));
            }
            summarize(active);
        }
        if (eventCount != null) {
            for (KeyWork w : work) {
                if (w.eventsSeen != w.eventsAtStart || w.countReset) {
                    setCurrentKey(w.entry.key);
                    eventCount.update(w.eventsSeen);
                }
            }
        }
        long t0 = System.nanoTime();
        for (KeyWork w : work) {
            for (String json : w.results) {
                output.collect(new StreamRecord<>(Tuple2.of(w.entry.key, json)));
            }
        }
        OperatorStats.emit(System.nanoTime() - t0);
        return stateBytes;
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
                w.applyResets(cache.slots(), resets, scorer);
                if (w.hasMore() && w.events.get(w.next).generate != null) {
                    asking.add(w);
                    events.add(w.events.get(w.next));
                    w.next++;
                }
            }
            if (asking.isEmpty()) {
                return;
            }
            generating.generate(asking, events, "generate");
        }
    }

    /**
     * The summary policies by count ({@code gdn.summary.every-tokens}, {@code gdn.summary.every-events}): a
     * stream whose last stretch ended on the event that took its token count past a multiple of N, or its
     * event count to a multiple of M, gets a summary, generated from a copy of its memory as it stands after
     * that event, with id {@code summary@<tokens consumed>}.
     */
    private void summarize(List<KeyWork> active) {
        if (summaryEvery <= 0 && summaryEveryEvents <= 0) {
            return;
        }
        List<KeyWork> due = new ArrayList<>();
        List<StreamEvent> events = new ArrayList<>();
        for (KeyWork w : active) {
            long after = w.entry.tokens;
            long before = after - w.stretchTokens.length;
            long eventsBefore = w.eventsSeen;
            w.eventsSeen += w.stretch.size();
            boolean byTokens = summaryEvery > 0 && before / summaryEvery < after / summaryEvery;
            boolean byEvents = summaryEveryEvents > 0 && eventsBefore / summaryEveryEvents < w.eventsSeen / summaryEveryEvents;
            if (byTokens || byEvents) {
                due.add(w);
                events.add(StreamEvent.generate(w.entry.key, "summary@" + after, summarySpec));
            }
        }
        if (!due.isEmpty()) {
            generating.generate(due, events, "summary");
        }
    }

    /** The reason given to events whose results or memory turned non-finite. */
    static final String NON_FINITE = "the model produced non-finite values (NaN or infinity) for this event; the "
            + "stream's memory was reset so that no non-finite memory is kept";

    /**
     * A stretch whose results from event {@code first} on hold NaN or infinity: those events get an error
     * result and the stream starts afresh, as after a reset (its memory may hold the non-finite values).
     */
    private void dropNonFinite(KeyWork w, String[] results, int first) {
        for (int e = first; e < results.length; e++) {
            results[e] = scorer.errorResult(w.stretch.get(e), NON_FINITE);
        }
        w.startAfresh(cache.slots());
        nonFiniteMemories.inc();
        LOG.error("stream '{}': {} (events from {} of the bundle)", Reasons.quote(w.entry.key), NON_FINITE,
                w.stretch.get(first).id);
    }

    /**
     * Writes a resident stream's memory back to keyed state, bound to its key, with its last hidden state. A
     * memory that holds NaN or infinity is never written: the stream's state is cleared instead (it starts
     * afresh), with an ERROR line.
     */
    private void writeBack(MemoryCache.Entry e, StreamMemory out) throws Exception {
        setCurrentKey(e.key);
        if (!out.isFinite()) {
            memoryState.clear();
            lastHiddenState.clear();
            e.dirty = false;
            nonFiniteMemories.inc();
            LOG.error("stream '{}': its memory holds NaN or infinity and is not written to state; the stream "
                    + "starts afresh", Reasons.quote(e.key));
            return;
        }
        out.bindTo(StreamBinding.digest(e.key));
        memoryState.update(out);
        if (e.legacyHidden) {
            lastHiddenState.clear();
            e.legacyHidden = false;
        }
        e.dirty = false;
        writeBacks.inc();
        writeBackBytes.inc(cache.slots().bytesPerSlot());
        OperatorStats.writeBack(cache.slots().bytesPerSlot());
    }

    /** The current key's memory as stored (null for a new stream); a corrupt one fails without restarts. */
    private StreamMemory read() throws Exception {
        return checked(() -> memoryState.value());
    }

    /**
     * Runs a read or check of stored memories: corrupt, altered or foreign state is found again on every
     * restart, so it fails the job at once (no restarts) with its own message as the root cause.
     */
    private static StreamMemory checked(java.util.concurrent.Callable<StreamMemory> read) throws Exception {
        try {
            return read.call();
        } catch (Exception e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof dev.gdn.state.MemoryFormatException) {
                    throw new org.apache.flink.runtime.execution.SuppressRestartsException(e);
                }
            }
            throw e;
        }
    }

    /**
     * The current key's memory from state (null for a new stream), checked: this model's, bound
     * to this stream, with a last hidden state of the model's width.
     *
     * @throws dev.gdn.state.MemoryFormatException naming what was found and what was expected
     */
    private StreamMemory load(String key, StreamMemory m) throws Exception {
        if (m == null) {
            return null;
        }
        m = serializer.bind(m);
        StreamBinding.check(m, key);
        int d = model.config().hiddenSize();
        if (m.lastHidden() != null && m.lastHidden().length != d) {
            throw new dev.gdn.state.MemoryFormatException("the memory of stream '" + Reasons.quote(key)
                    + "' has a last hidden state of " + m.lastHidden().length + " floats, expected " + d);
        }
        return m;
    }

    /**
     * After a restore: every memory in this subtask's state belongs to the key it is stored under (a
     * renamed key would otherwise leave its stream to restart from nothing, silently). Reads each memory
     * once; {@code gdn.state.verify-on-restore} turns it off for very large RocksDB states.
     */
    private void verifyRestoredMemories() throws Exception {
        long start = System.nanoTime();
        long n = 0;
        List<String> keys;
        try (var s = this.<String>getKeyedStateBackend().getKeys(StreamMemoryState.STATE_NAME,
                org.apache.flink.runtime.state.VoidNamespace.INSTANCE)) {
            keys = s.map(Object::toString).toList();
        }
        boolean ttl = !config.get(GdnOptions.IDLE_TTL).isZero();
        for (String key : keys) {
            setCurrentKey(key);
            StreamMemory m = read();
            if (m == null && !ttl) {
                // listed, yet not found under its own key: stored in a key group the key does not hash to
                throw new org.apache.flink.runtime.execution.SuppressRestartsException(
                        new dev.gdn.state.MemoryFormatException("the state holds a memory under stream '"
                        + Reasons.quote(key) + "' that its key cannot reach (stored in another key group): the "
                        + "checkpoint or savepoint was altered"));
            }
            checked(() -> load(key, m));
            n++;
        }
        LOG.info("verified {} restored stream memories in {} ms", n, (System.nanoTime() - start) / 1_000_000);
    }

    /**
     * Slots of the memory cache: {@code gdn.cache.capacity} bytes divided by the bytes of one memory, at
     * least one. 0: what the engine suggests (on the GPU 40% of the device memory free when the operator
     * opens), else a tenth of the maximum heap for host slots.
     */
    private int cacheSlots() {
        long perSlot = serializer.layout().floats() * 4;
        long bytes = config.get(GdnOptions.CACHE_CAPACITY).getBytes();
        if (bytes == 0) {
            bytes = model.engine().map(e -> e.residentBytesSuggested()).orElse(0L);
        }
        if (bytes == 0) {
            bytes = Runtime.getRuntime().maxMemory() / 10;
        }
        return (int) Math.max(1, Math.min(1 << 20, bytes / perSlot));
    }

    /**
     * On the heap state backend, whether a new stream's memory fits in this JVM's budget
     * ({@code gdn.state.max-heap-fraction}); always true on other backends.
     */
    private boolean admitNewStream() {
        if (!onHeap) {
            return true;
        }
        heapEntries.refresh();
        if (HeapBudget.fits(bytesPerStream, heapLimit)) {
            heapEntries.added();
            return true;
        }
        if (!heapFullLogged) {
            heapFullLogged = true;
            LOG.warn(heapFullReason());
        }
        streamsRefused.inc();
        return false;
    }

    private String heapFullReason() {
        return String.format(Locale.ROOT, "no room for a new stream: %d stream memories of %.2f MiB fill the %,d MiB "
                + "that gdn.state.max-heap-fraction = %s allows of this JVM's %,d MiB heap on the hashmap state "
                + "backend; give the JVM more heap, use --state-backend rocksdb, or set gdn.state.idle-ttl to drop "
                + "idle streams", HeapBudget.held() / bytesPerStream, bytesPerStream / 1048576.0, heapLimit >> 20,
                config.get(GdnOptions.MAX_HEAP_FRACTION), Runtime.getRuntime().maxMemory() >> 20);
    }

    @Override
    public void close() throws Exception {
        HeapBudget.unregister(this);
        if (generating != null) {
            generating.close();
        }
        if (cache != null) {
            cache.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
            tokenizer = null;
        }
        super.close();
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
