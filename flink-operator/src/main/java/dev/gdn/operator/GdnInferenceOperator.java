package dev.gdn.operator;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.state.MemoryLayout;
import dev.gdn.state.ModelChangePolicy;
import dev.gdn.state.StorageDType;
import dev.gdn.state.StreamMemorySerializer;
import dev.gdn.text.ModelTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Meter;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
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
 *   <li>A key's results do not depend on the other keys in its bundle (see {@link BundleCore} for when
 *       they depend on where bundles split its own events).</li>
 * </ul>
 * The operator does only what Flink asks of it (buffering, timers, barrier hooks, keyed-state I/O,
 * metrics); what a bundle does to the memories is the Flink-free {@link BundleCore}'s, over the keyed
 * state this operator gives it ({@link KeyedMemories}).
 *
 * <p>Timer lifecycle: the first event of an empty buffer registers one processing-time timer at
 * {@code now + max-delay}; a flush for any reason leaves it registered but makes it stale (it checks
 * the bundle generation and does nothing); the next event of an empty buffer registers a new one.
 */
public final class GdnInferenceOperator extends AbstractStreamOperator<StreamResult>
        implements OneInputStreamOperator<StreamEvent, StreamResult>, BoundedOneInput,
        Triggerable<String, VoidNamespace> {
    private static final long serialVersionUID = 1L;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GdnInferenceOperator.class);

    private final Configuration config;
    private transient boolean restored;
    private transient BundleCore core;
    private transient KeyedMemories memories;
    private transient ModelTokenizer tokenizer;
    private transient BundleCore.Emitter emitter;
    /** Runs a bundle's results out once its pass is done on the GPU (created when the core pipelines). */
    private transient org.apache.flink.api.common.operators.MailboxExecutor mailbox;

    private transient long summaryIntervalMillis;
    /** Per stream: when its interval summary is due (with gdn.summary.interval; absent: no timer set). */
    private transient ValueState<Long> summaryDue;
    private transient InternalTimerService<VoidNamespace> summaryTimers;

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
    private transient Histogram barrierWriteBackMillis;
    /** When each checkpoint's barrier reached this operator (System.nanoTime), until it completes. */
    private transient java.util.TreeMap<Long, Long> barrierAt;

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
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        restored = context.isRestored();
    }

    @Override
    public void open() throws Exception {
        super.open();
        GpuSelection.Choice gpu = GpuSelection.choose(config.get(GdnOptions.CUDA_DEVICE),
                getRuntimeContext().getTaskManagerRuntimeInfo().getConfiguration().get(GdnOptions.CUDA_DEVICE),
                getRuntimeContext().getExternalResourceInfos(GpuSelection.RESOURCE));
        String modelPath = config.get(GdnOptions.MODEL_PATH);
        GatedDeltaNetModel model = ModelCache.get(modelPath, EngineSpec.of(config, gpu.device()));
        LOG.info("subtask {} of {}: model {} on {}; GPU {} (chosen by {})", getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks(), modelPath,
                model.engine().isPresent() ? "the GPU" : "the CPU backend (no GPU used)", gpu.device(), gpu.why());
        StreamMemorySerializer serializer = new StreamMemorySerializer(MemoryLayout.of(model.config()),
                model.fingerprint(), StorageDType.valueOf(config.get(GdnOptions.STORAGE).toUpperCase(Locale.ROOT)),
                ModelChangePolicy.valueOf(config.get(GdnOptions.ON_MODEL_CHANGE).toUpperCase(Locale.ROOT)));
        boolean bench = modelPath.startsWith("bench:");
        Path dir = Path.of(bench ? "." : modelPath);
        tokenizer = bench ? null : ModelTokenizer.forModel(dir).orElse(null);
        BundleCore.Settings settings = BundleSettings.of(config, tokenizer, dir, model.engine().isPresent());
        memories = new KeyedMemories(getRuntimeContext(), getKeyedStateBackend(), this::setCurrentKey, serializer,
                model.config().hiddenSize(), model.config().vocabSize(), config.get(GdnOptions.IDLE_TTL),
                settings.countsEvents());
        long memoryBytes = serializer.layout().floats() * 4;
        core = new BundleCore(model, model.residentStreams(BundleSettings.cacheSlots(config, model, memoryBytes)),
                new EventScorer(model, config.get(GdnOptions.TOP_K), config.get(GdnOptions.EMIT_EMBEDDING),
                        decoder(dir)), tokenizer, settings, memories);
        if (memories.onHeap()) {
            // what a memory costs on the heap: its floats, plus its last hidden state; host slots count too.
            // Counting the entries walks every one of them: at most once a second, on this operator's thread
            boolean hostSlots = model.engine().isEmpty();
            HeapAdmission heap = new HeapAdmission(new HeapEntries(memories::heapEntries,
                    hostSlots ? core::residentStreams : () -> 0), memoryBytes + model.config().hiddenSize() * 4L + 1024,
                    config.get(GdnOptions.MAX_HEAP_FRACTION));
            memories.limitBy(heap);
            HeapBudget.register(this, heap::bytesHeld);
            getMetricGroup().addGroup("gdn").gauge("streamsRefused", heap::refused);
        }
        if (restored && (config.get(GdnOptions.VERIFY_ON_RESTORE) || memories.onHeap())) {
            memories.verifyRestored();
        }
        summaryIntervalMillis = config.get(GdnOptions.SUMMARY_INTERVAL).toMillis();
        if (summaryIntervalMillis > 0) {
            summaryDue = getRuntimeContext().getState(new ValueStateDescriptor<>("summary-due", Types.LONG));
            summaryTimers = getInternalTimerService("gdn-summary-interval", VoidNamespaceSerializer.INSTANCE, this);
        }
        emitter = r -> output.collect(new StreamRecord<>(r));
        if (core.pipelined()) {
            mailbox = getContainingTask().getMailboxExecutorFactory().createExecutor(getOperatorConfig().getChainIndex());
        }
        pending = new LinkedHashMap<>();
        barrierAt = new java.util.TreeMap<>();
        maxKeys = config.get(GdnOptions.BATCH_MAX_KEYS);
        maxTokens = config.get(GdnOptions.BATCH_MAX_TOKENS);
        maxDelayMillis = GdnOptions.batchMaxDelay(config).toMillis();
        registerMetrics(getMetricGroup().addGroup("gdn"), serializer.layout().payloadBytes(serializer.storage()));
    }

    /** Top k entries' text (gdn.output.decode-top-k): the model's tokenizer decoding one id; null when off. */
    private IntFunction<String> decoder(Path dir) {
        if (!config.get(GdnOptions.DECODE_TOP_K)) {
            return null;
        }
        if (tokenizer == null) {
            throw new IllegalArgumentException(GdnOptions.DECODE_TOP_K.key() + " is true but the model folder " + dir
                    + " has no " + ModelTokenizer.FILE);
        }
        ModelTokenizer t = tokenizer;
        return id -> t.tryDecode(new int[] {id}).orElse(null);
    }

    private void registerMetrics(MetricGroup g, long storedBytesPerStream) {
        bundleKeys = g.histogram("bundleKeys", new DescriptiveStatisticsHistogram(1000));
        bundleTokens = g.histogram("bundleTokens", new DescriptiveStatisticsHistogram(1000));
        bundleMillis = g.histogram("bundleComputeMillis", new DescriptiveStatisticsHistogram(1000));
        tokensPerSecond = g.meter("tokensPerSecond", new MeterView(10));
        barrierWriteBackMillis = g.histogram("barrierWriteBackMillis", new DescriptiveStatisticsHistogram(1000));
        g.gauge("resets", core::resets);
        g.gauge("generations", core::generations);
        g.gauge("generatedTokens", core::generatedTokens);
        g.gauge("nonFiniteMemories", core::nonFiniteMemories);
        g.gauge("cacheWriteBacks", core::writeBacks);
        g.gauge("cacheWriteBackBytes", core::writeBackBytes);
        g.gauge("logWrites", core::logWrites);
        g.gauge("logRebuilds", core::rebuilds);
        g.gauge("logRebuiltTokens", core::rebuiltTokens);
        g.gauge("cacheStreams", core::residentStreams);
        g.gauge("cacheEvictions", core::evictions);
        g.gauge("stateBytesPerStream", () -> storedBytesPerStream);
        g.gauge("bundleStateBytes", core::lastBundleStateBytes);
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
            summaryTimers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, due);
            summaryDue.update(due);
        }
        buffer(e);
        if (pending.size() >= maxKeys || pendingTokens >= maxTokens) {
            flush();
        }
    }

    private void buffer(StreamEvent e) {
        pending.computeIfAbsent(e.stream, k -> new ArrayList<>()).add(e);
        // a generation costs its prompt and up to max_tokens one-token passes
        pendingTokens += e.tokens.length + (e.generate == null ? 0 : e.generate.prompt.length + e.generate.maxTokens);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        long start = System.nanoTime();
        barrierAt.put(checkpointId, start);
        flush();
        core.finishPending(emitter);
        start = System.nanoTime();
        // the copies of the memories may still be arriving when the barrier passes: the snapshot's
        // serializer waits for them, while the next bundles run
        core.writeBackDirty(true);
        long nanos = System.nanoTime() - start;
        barrierWriteBackMillis.update(nanos / 1_000_000);
        OperatorStats.barrier(nanos);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        Long at = barrierAt.remove(checkpointId);
        barrierAt.headMap(checkpointId).clear();
        OperatorStats.checkpointCompleted(at == null ? 0 : System.nanoTime() - at);
    }

    /**
     * A stream's interval summary is due: it joins the buffer behind the stream's buffered events (so it
     * sees the memory after them) and the buffer runs now. A stream whose memory is gone (idle TTL) gets none.
     */
    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        String key = timer.getKey();
        summaryDue.clear();
        StreamEvent summary = core.intervalSummary(key, pending.containsKey(key));
        if (summary != null) {
            buffer(summary);
            flush();
        }
    }

    @Override
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) {
        // no event-time timers
    }

    @Override
    public void endInput() throws Exception {
        drain();
    }

    @Override
    public void finish() throws Exception {
        drain();
        super.finish();
    }

    /** Runs what is buffered and writes every dirty memory back (nothing when open failed early). */
    private void drain() throws Exception {
        flush();
        if (core != null) {
            core.finishPending(emitter);
            core.writeBackDirty(false);
        }
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
        try {
            core.run(bundle, getProcessingTimeService().getCurrentProcessingTime(), emitter);
            long pass = core.pendingPass();
            if (pass != 0) {
                // the pass runs on the GPU while this thread reads on; its results go out as soon as it is
                // done (or at the next bundle, barrier or end of input, whichever is first)
                core.whenPassDone(() -> {
                    try {
                        mailbox.execute(() -> finishPass(pass), "gdn: results of a bundle");
                    } catch (java.util.concurrent.RejectedExecutionException closing) {
                        // the task is going away; close() waits for the pass
                    }
                });
            }
        } catch (dev.gdn.state.MemoryFormatException e) {
            // stored state that does not fit together: a restart would find it again
            throw new org.apache.flink.runtime.execution.SuppressRestartsException(e);
        }
        long nanos = System.nanoTime() - start;
        bundleKeys.update(bundle.size());
        bundleTokens.update(tokens);
        bundleMillis.update(nanos / 1_000_000);
        tokensPerSecond.markEvent(tokens);
        OperatorStats.bundle(tokens, nanos);
    }

    private void finishPass(long pass) throws Exception {
        long start = System.nanoTime();
        core.finishPending(pass, emitter);
        OperatorStats.finishing(System.nanoTime() - start);
    }

    /** The bundle core (visible for testing). */
    BundleCore core() {
        return core;
    }

    /** The memory keyed state holds for {@code key} now (null for none), for tests. */
    StreamMemory storedMemory(String key) throws Exception {
        return memories.stored(key);
    }

    /** Keys buffered now (visible for testing). */
    int pendingKeys() {
        return pending.size();
    }

    @Override
    public void close() throws Exception {
        HeapBudget.unregister(this);
        if (core != null) {
            core.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
            tokenizer = null;
        }
        super.close();
    }
}
