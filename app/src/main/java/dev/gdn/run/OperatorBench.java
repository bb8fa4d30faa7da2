package dev.gdn.run;

import dev.gdn.job.FlinkSettings;
import dev.gdn.job.RootCause;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ModelWeights;
import dev.gdn.kernels.model.NoOpEngine;
import dev.gdn.kernels.model.RandomWeights;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.operator.GdnInferenceOperator;
import dev.gdn.operator.GdnOptions;
import dev.gdn.operator.ModelCache;
import dev.gdn.operator.OperatorStats;
import dev.gdn.operator.StreamEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * The keyed inference operator measured where it runs: a local Flink cluster, generated keyed events,
 * the records the job's sink would send (made, then dropped), checkpoints every 10 s on the hashmap
 * backend, the memory cache on. For each case
 * it first times the resident engine alone (the same streams advanced in place by the same model,
 * nothing else), then runs the job, lets it warm up, and measures a steady window: tokens/s of the
 * operator, the barrier's write-back wait per checkpoint, write-back bytes and evictions.
 *
 * <p>Models: {@code fla-1b} (FLA's 1B shape, 21 layers, seeded random weights rounded to bf16, bf16
 * matrix products on the GPU) and {@code recall} (the demo model's shape, random weights). Cases: 64,
 * 256 and 1,024 hot streams at one token and at 64 tokens per event, and a hot set over many keys
 * (Zipf-distributed over 100,000 streams, a cache smaller than the key space).
 */
public final class OperatorBench {
    /** gdn.state.log-tokens of the measured jobs (null: the option's default), from {@code --log-tokens}. */
    static Integer logTokens;
    /** Whether the result records are made in the operator's thread (gdn.sink.chained). */
    static boolean sinkChained = true;
    /** Whether chained operators hand objects on without copies (pipeline.object-reuse). */
    static boolean objectReuse;
    /** Flink options set on the measured jobs as given ({@code --flink KEY=VALUE}), e.g. RocksDB's. */
    static final java.util.Map<String, String> FLINK = new java.util.LinkedHashMap<>();

    /** Streams advanced by the sink (results counted), for the throughput window. */
    static final AtomicLong RESULTS = new AtomicLong();

    /**
     * One measured configuration.
     *
     * @param state the state backend: hashmap or rocksdb (incremental checkpoints)
     */
    public record Case(String model, int streams, int tokensPerEvent, int keys, int cacheStreams, String state) {
        public Case(String model, int streams, int tokensPerEvent, int keys, int cacheStreams) {
            this(model, streams, tokensPerEvent, keys, cacheStreams, "hashmap");
        }

        public String label() {
            String on = state.equals("hashmap") ? "" : ", " + state;
            return keys > streams
                    ? String.format(Locale.ROOT, "%s zipf over %,d keys, %d per bundle, cache %,d%s", model, keys, streams,
                            cacheStreams, on)
                    : String.format(Locale.ROOT, "%s %d streams x %d token%s%s", model, streams, tokensPerEvent,
                            tokensPerEvent == 1 ? "" : "s", on);
        }
    }

    private OperatorBench() {
    }

    /** The model of the benchmark's name, built in memory and served to the operator under that name. */
    static GatedDeltaNetModel model(String name) {
        return model(name, false);
    }

    /**
     * {@link #model(String)}; with {@code noop} its forward passes are a {@link NoOpEngine}'s (nothing
     * computed, advances on a thread of their own as on a GPU): the job then runs at its host path's speed.
     */
    static GatedDeltaNetModel model(String name, boolean noop) {
        ModelConfig c = switch (name) {
            case "fla-1b" -> RandomWeights.fla1b(21);
            case "recall" -> new ModelConfig(384, 256, 4, 4, 64, 128, 4, 4, true, true, false, 1e-6f, 1024, false);
            default -> throw new IllegalArgumentException("model '" + name + "' is not one of fla-1b, recall");
        };
        ModelWeights w = RandomWeights.roundToBf16(RandomWeights.of(c, 1));
        GatedDeltaNetModel m = new GatedDeltaNetModel(c, w, CpuKernels.fast());
        if (noop) {
            m = m.withEngine(new NoOpEngine());
        }
        ModelCache.preload(path(name, noop), m);
        return m;
    }

    /** The name a benchmark model is served under (the no-op one apart, so that neither replaces the other). */
    static String path(String model, boolean noop) {
        return "bench:" + model + (noop ? "+noop" : "");
    }

    /**
     * Runs the cases, printing a table and writing JSON lines to {@code json} (may be null).
     *
     * @param backend   auto, cpu or cuda; or noop: an engine that computes nothing, for the host path's ceiling
     * @param precision {@code MATMUL[/CHUNK]}, e.g. {@code bf16-weights/fp32} or {@code bf16/bf16}
     * @param window    the measured steady window of each case
     */
    public static void run(List<Case> cases, String backend, String precision, Duration window, Path json,
            java.io.PrintStream out) throws Exception {
        List<String> lines = new ArrayList<>();
        boolean noop = backend.equals("noop");
        if (noop) {
            // the preloaded model carries the no-op engine; the CPU backend leaves it in place
            backend = "cpu";
        }
        String current = null;
        for (Case k : cases) {
            if (!k.model().equals(current)) {
                long t0 = System.nanoTime();
                model(k.model(), noop);
                current = k.model();
                out.printf(Locale.ROOT, "model %s ready in %.1f s%n", current, (System.nanoTime() - t0) / 1e9);
            }
            GatedDeltaNetModel m = ModelCache.get(path(k.model(), noop), new dev.gdn.operator.EngineSpec(
                    dev.gdn.operator.EngineSpec.Backend.parse(backend), 0,
                    dev.gdn.kernels.cuda.MatmulPrecision.parse(matmulOf(precision)),
                    dev.gdn.kernels.cuda.ChunkPrecision.parse(chunkOf(precision)),
                    dev.gdn.kernels.cuda.StatePrecision.FP32, 0));
            checkHeap(k, m.newMemory().payloadBytes(), m.engine().isPresent(), Runtime.getRuntime().maxMemory());
            // the engine alone on bundles of the same size (for a Zipf case: its streams per bundle)
            double engine = residentTokensPerSecond(m, new Case(k.model(), k.streams(), k.tokensPerEvent(), k.streams(),
                    k.streams()));
            Result r = operator(m, k, backend, precision, window);
            OperatorStats.Phases p = r.phases;
            double per = Math.max(1, p.bundles()) * 1e6;
            String label = k.label() + (sinkChained ? "" : " sink apart") + (objectReuse ? " object reuse" : "");
            // with the no-op engine its speed is no ceiling: the operator's figure is the host path's own
            String speed = noop ? String.format(Locale.ROOT, "no-op engine | host path %9.0f tok/s", r.tokensPerSecond)
                    : String.format(Locale.ROOT, "engine %9.0f tok/s | operator %9.0f tok/s (%5.1f%%)", engine,
                            r.tokensPerSecond, 100 * r.tokensPerSecond / engine);
            String line = String.format(Locale.ROOT, "%-44s %s | "
                    + "barrier wait mean %6.0f ms max %6.0f ms (%d barriers, %d checkpoints completed, each %.0f ms mean, %.0f ms max) | write-back %6.2f GB | evictions/s %7.1f"
                    + " | per bundle (%d): flush %.2f ms = advance and score %.2f + results %.2f + emit %.2f + other; busy %.0f%%",
                    label, speed, r.barrierMeanMs, r.barrierMaxMs,
                    r.barriers, r.completed, r.checkpointMeanMs, r.checkpointMaxMs, r.writeBackBytes / 1e9, r.evictionsPerSecond, p.bundles(), p.flushNanos() / per,
                    p.advanceNanos() / per, p.scoreNanos() / per, p.emitNanos() / per,
                    100.0 * (p.flushNanos() + (r.barriers == 0 ? 0 : r.barrierMeanMs * r.barriers * 1e6)) / (r.seconds * 1e9));
            out.println(line);
            out.flush();
            lines.add(String.format(Locale.ROOT, "{\"case\":\"%s\",\"backend\":\"%s\",\"engine_tokens_per_s\":%.1f,"
                    + "\"operator_tokens_per_s\":%.1f,\"barrier_mean_ms\":%.1f,\"barrier_max_ms\":%.1f,\"checkpoints\":%d,"
                    + "\"write_back_bytes\":%d,\"evictions_per_s\":%.2f,\"bytes_per_stream\":%d,\"checkpoints_completed\":%d,"
                    + "\"bundles\":%d,\"advance_ms_per_bundle\":%.3f,\"results_ms_per_bundle\":%.3f,\"flush_ms_per_bundle\":%.3f,"
                    + "\"checkpoint_mean_ms\":%.1f,\"checkpoint_max_ms\":%.1f}",
                    label, m.backendName(), engine, r.tokensPerSecond, r.barrierMeanMs, r.barrierMaxMs, r.barriers,
                    r.writeBackBytes, r.evictionsPerSecond, m.newMemory().payloadBytes(), r.completed, p.bundles(),
                    p.advanceNanos() / per, p.scoreNanos() / per, p.flushNanos() / per, r.checkpointMeanMs,
                    r.checkpointMaxMs));
            if (json != null) {
                Files.write(json, lines);
            }
        }
    }

    /**
     * The resident engine alone: the case's streams advanced in place (nothing scored, nothing copied to
     * the host), as many times as fit in 3 s.
     */
    static double residentTokensPerSecond(GatedDeltaNetModel m, Case k) {
        int n = k.streams();
        int t = k.tokensPerEvent();
        try (ResidentStreams slots = m.residentStreams(n)) {
            for (int s = 0; s < n; s++) {
                slots.load(s, m.newMemory());
            }
            int[] ids = new int[n];
            int[] offsets = new int[n + 1];
            for (int s = 0; s < n; s++) {
                ids[s] = s;
                offsets[s + 1] = offsets[s] + t;
            }
            SplittableRandom r = new SplittableRandom(7);
            int[] tokens = new int[n * t];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = r.nextInt(m.config().vocabSize());
            }
            // the advance alone: no rows scored, the hidden states left where they are
            ResidentStreams.ScoreRows none = new ResidentStreams.ScoreRows(new int[0], new int[0], new boolean[0], 0);
            for (int warm = 0; warm < 3; warm++) {
                slots.advanceScored(ids, offsets, tokens, none, false);
            }
            long start = System.nanoTime();
            int reps = 0;
            while (System.nanoTime() - start < 3_000_000_000L || reps < 3) {
                slots.advanceScored(ids, offsets, tokens, none, false);
                reps++;
            }
            return (double) reps * n * t / ((System.nanoTime() - start) / 1e9);
        }
    }

    record Result(double tokensPerSecond, double barrierMeanMs, double barrierMaxMs, long barriers, long writeBackBytes,
            double evictionsPerSecond, OperatorStats.Phases phases, double seconds, long completed,
            double checkpointMeanMs, double checkpointMaxMs) {
    }

    /** The matrix-product half of a precision {@code MATMUL[/CHUNK]}. */
    static String matmulOf(String precision) {
        int slash = precision.indexOf('/');
        return slash < 0 ? precision : precision.substring(0, slash);
    }

    /** The chunkwise-rule half of a precision {@code MATMUL[/CHUNK]} (fp32 when absent). */
    static String chunkOf(String precision) {
        int slash = precision.indexOf('/');
        return slash < 0 ? "fp32" : precision.substring(slash + 1);
    }

    /** The job: generated events -> keyBy -> inference operator -> discarding sink, measured over a window. */
    static Result operator(GatedDeltaNetModel m, Case k, String backend, String precision, Duration window)
            throws Exception {
        Configuration c = new Configuration();
        c.set(GdnOptions.MODEL_PATH, path(k.model(), m.engine().orElse(null) instanceof NoOpEngine));
        c.set(GdnOptions.BACKEND, backend);
        c.set(GdnOptions.MATMUL_PRECISION, matmulOf(precision));
        c.set(GdnOptions.CHUNK_PRECISION, chunkOf(precision));
        c.set(GdnOptions.BATCH_MAX_KEYS, k.streams());
        c.set(GdnOptions.BATCH_MAX_TOKENS, k.streams() * k.tokensPerEvent());
        c.set(GdnOptions.BATCH_MAX_DELAY, Duration.ofMillis(200));
        c.set(GdnOptions.EVENT_MAX_TOKENS, Math.max(4096, k.tokensPerEvent()));
        c.set(GdnOptions.CHECKPOINT_INTERVAL, Duration.ofSeconds(10));
        c.set(GdnOptions.STATE_BACKEND, k.state());
        if (logTokens != null) {
            c.set(GdnOptions.LOG_TOKENS, logTokens);
        }
        c.set(GdnOptions.MAX_HEAP_FRACTION, GdnOptions.MAX_HEAP_FRACTION_LIMIT);
        long perStream = m.newMemory().payloadBytes();
        c.set(GdnOptions.CACHE_CAPACITY, new MemorySize(perStream * (k.cacheStreams() + 1)));
        Path checkpoints = Files.createTempDirectory("gdn-bench");
        c.set(GdnOptions.CHECKPOINT_DIR, checkpoints.toUri().toString());
        GdnOptions.validate(c);
        Configuration flink = FlinkSettings.of(c);
        if (objectReuse) {
            // as pipeline.object-reuse=true: chained operators hand results on without Flink copying them
            flink.set(org.apache.flink.configuration.PipelineOptions.OBJECT_REUSE, true);
        }
        FLINK.forEach(flink::setString);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, flink);
        int vocab = m.config().vocabSize();
        int t = k.tokensPerEvent();
        GeneratorFunction<Long, StreamEvent> gen = new Events(k.streams(), k.keys(), t, vocab);
        DataGeneratorSource<StreamEvent> source = new DataGeneratorSource<>(gen, Long.MAX_VALUE,
                RateLimiterStrategy.noOp(), dev.gdn.operator.wire.StreamEventSerializer.TYPE);
        TypeInformation<dev.gdn.operator.StreamResult> resultType = dev.gdn.operator.wire.StreamResultSerializer.TYPE;
        var records = env.fromSource(source, WatermarkStrategy.noWatermarks(), "generated events")
                .keyBy(e -> e.stream, Types.STRING)
                .transform("gdn inference", resultType, new GdnInferenceOperator(c)).uid("gdn-stream-memory")
                // each result made into the Kafka record the job's sink would send (its JSON written there, as
                // in the job), then dropped
                .map(r -> dev.gdn.job.BoundedRecords.result("results", "dead", r.stream, r.jsonUtf8(), 1 << 20, 1 << 16)
                        .value().length, Types.INT)
                .name("result records");
        if (!sinkChained) {
            // as gdn.sink.chained=false: the records are made in a task (a thread) of their own
            records.startNewChain();
        }
        records.sinkTo(new DiscardingSink<>());
        JobClient job = env.executeAsync("gdn operator bench");
        var finished = job.getJobExecutionResult();
        try {
            // warm up: the first checkpoint has completed and bundles flow
            long until = System.nanoTime() + Duration.ofSeconds(25).toNanos();
            OperatorStats.Snapshot before = OperatorStats.snapshot();
            while (System.nanoTime() < until) {
                Thread.sleep(500);
                failIfEnded(finished);
                OperatorStats.Snapshot now = OperatorStats.snapshot();
                if (now.barriers() > before.barriers() && now.tokens() > before.tokens()) {
                    break;
                }
            }
            OperatorStats.resetMax();
            OperatorStats.Snapshot a = OperatorStats.snapshot();
            long t0 = System.nanoTime();
            Thread.sleep(window.toMillis());
            failIfEnded(finished);
            OperatorStats.Snapshot d = OperatorStats.snapshot().minus(a);
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new Result(d.tokens() / seconds, d.barriers() == 0 ? Double.NaN : d.barrierNanos() / 1e6 / d.barriers(),
                    d.barrierMaxNanos() / 1e6, d.barriers(), d.writeBackBytes(), d.evictions() / seconds, d.phases(),
                    seconds, d.checkpointsCompleted(), d.checkpointMeanMillis(), d.checkpointMaxNanos() / 1e6);
        } finally {
            if (!finished.isDone()) {
                job.cancel().get(2, TimeUnit.MINUTES);
                // until the job is cancelled everywhere: its tasks have closed their state backends, so no
                // RocksDB instance is still compacting when the JVM exits (one did, and RocksDB's native code
                // crashed the JVM on the way out)
                try {
                    finished.get(2, TimeUnit.MINUTES);
                } catch (java.util.concurrent.ExecutionException cancelled) {
                    // the cancelled job's result: expected
                }
            }
            try (var s = Files.walk(checkpoints)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void failIfEnded(java.util.concurrent.CompletableFuture<?> finished) throws Exception {
        if (finished.isDone()) {
            try {
                finished.get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("the benchmark job failed: " + RootCause.line(e), e);
            }
            throw new IllegalStateException("the benchmark job ended by itself");
        }
    }

    /** Event i: a stream (round robin over the hot set, or Zipf over the key space) and its tokens. */
    static final class Events implements GeneratorFunction<Long, StreamEvent> {
        private static final long serialVersionUID = 1L;
        private final int streams;
        private final int keys;
        private final int tokens;
        private final int vocab;
        private transient double[] cdf;

        Events(int streams, int keys, int tokens, int vocab) {
            this.streams = streams;
            this.keys = keys;
            this.tokens = tokens;
            this.vocab = vocab;
        }

        @Override
        public StreamEvent map(Long i) {
            SplittableRandom r = new SplittableRandom(i * 0x9E3779B97F4A7C15L);
            int key;
            if (keys > streams) {
                if (cdf == null) {
                    cdf = zipf(keys, 1.1);
                }
                int at = java.util.Arrays.binarySearch(cdf, r.nextDouble());
                key = Math.min(keys - 1, at >= 0 ? at : -at - 1);
            } else {
                key = (int) (i % streams);
            }
            int[] t = new int[tokens];
            for (int j = 0; j < t.length; j++) {
                t[j] = r.nextInt(vocab);
            }
            return new StreamEvent("s" + key, "e" + i, t, false);
        }

        static double[] zipf(int n, double s) {
            double[] c = new double[n];
            double sum = 0;
            for (int k = 0; k < n; k++) {
                sum += 1 / Math.pow(k + 1, s);
                c[k] = sum;
            }
            for (int k = 0; k < n; k++) {
                c[k] /= sum;
            }
            return c;
        }
    }

    /**
     * {@code OperatorBench [--backend auto|cpu|cuda|noop] [--precision bf16-weights] [--chunk-precision fp32] [--window 30]
     * [--out FILE] [--log-tokens N] [--sink-chained false] [--object-reuse true] [--flink KEY=VALUE]... CASES...}
     * where a case is {@code MODEL:STREAMS:TOKENS[:STATE]} or {@code MODEL:zipf:KEYS:PER_BUNDLE:CACHE[:STATE]}; no case:
     * the standard set.
     */
    public static void main(String[] args) throws Exception {
        String backend = "auto";
        String precision = "bf16-weights";
        String chunk = "fp32";
        int window = 30;
        Path out = null;
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--backend" -> backend = args[++i];
                case "--precision" -> precision = args[++i];
                case "--chunk-precision" -> chunk = args[++i];
                case "--window" -> window = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--log-tokens" -> logTokens = Integer.parseInt(args[++i]);
                case "--sink-chained" -> sinkChained = Boolean.parseBoolean(args[++i]);
                case "--object-reuse" -> objectReuse = Boolean.parseBoolean(args[++i]);
                case "--flink" -> {
                    String kv = args[++i];
                    int eq = kv.indexOf('=');
                    if (eq < 1) {
                        throw new IllegalArgumentException("--flink '" + kv + "': expected KEY=VALUE");
                    }
                    FLINK.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
                default -> cases.add(parseCase(args[i]));
            }
        }
        if (cases.isEmpty()) {
            cases = standardCases();
        }
        run(cases, backend, precision + "/" + chunk, Duration.ofSeconds(window), out, System.out);
        System.exit(0);
    }

    /**
     * {@code MODEL:STREAMS:TOKENS[:STATE]} or {@code MODEL:zipf:KEYS:PER_BUNDLE:CACHE[:STATE]}, STATE
     * hashmap (the default) or rocksdb.
     */
    public static Case parseCase(String s) {
        String[] p = s.split(":");
        boolean zipf = p.length >= 2 && p[1].equals("zipf");
        int parts = zipf ? 5 : 3;
        if (p.length != parts && p.length != parts + 1) {
            throw new IllegalArgumentException("case '" + s + "': expected MODEL:STREAMS:TOKENS[:STATE] or "
                    + "MODEL:zipf:KEYS:PER_BUNDLE:CACHE[:STATE]");
        }
        String state = p.length > parts ? p[parts] : "hashmap";
        if (!state.equals("hashmap") && !state.equals("rocksdb")) {
            throw new IllegalArgumentException("case '" + s + "': state backend '" + state + "', expected hashmap or rocksdb");
        }
        if (zipf) {
            return new Case(p[0], Integer.parseInt(p[3]), 1, Integer.parseInt(p[2]), Integer.parseInt(p[4]), state);
        }
        int n = Integer.parseInt(p[1]);
        return new Case(p[0], n, Integer.parseInt(p[2]), n, n, state);
    }

    /** The table. */
    /**
     * Refuses, before it starts, a case whose memories cannot fit in this JVM's heap: every key's memory in
     * the hashmap state, and on the CPU the cache's host slots as well (more than 60% of the heap would end
     * in an OutOfMemoryError minutes later).
     *
     * @throws IllegalArgumentException naming the case, what it needs and what to change
     */
    static void checkHeap(Case k, long bytesPerStream, boolean onGpu, long maxHeap) {
        // RocksDB keeps the memories off the heap; host slots (without a GPU) are on it
        long streams = (k.state().equals("rocksdb") ? 0L : k.keys()) + (onGpu ? 0 : k.cacheStreams());
        long needed = streams * bytesPerStream;
        if (needed > maxHeap * 0.6) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "case %s needs about %.1f GiB of heap (%,d "
                    + "memories of %.2f MiB%s), more than 60%% of this JVM's %.1f GiB: give it more heap "
                    + "(GDN_JAVA_OPTS=-Xmx%dg) or choose smaller --cases", k.label(), needed / 1073741824.0, streams,
                    bytesPerStream / 1048576.0, onGpu ? " in keyed state" : k.state().equals("rocksdb") ? " in host slots"
                            : " in keyed state and host slots",
                    maxHeap / 1073741824.0, (long) Math.ceil(needed / 0.6 / 1073741824.0)));
        }
    }

    /** The cases of a machine without a GPU: the recall model, sizes a CPU runs in seconds. */
    public static List<Case> cpuCases() {
        return List.of(new Case("recall", 64, 1, 64, 64), new Case("recall", 256, 1, 256, 256),
                new Case("recall", 64, 64, 64, 64));
    }

    /** The default cases of {@code --backend noop}: hot sets and a million keys on RocksDB, the recall model's shape. */
    public static List<Case> hostCases() {
        return List.of(new Case("recall", 256, 1, 256, 256), new Case("recall", 1024, 1, 1024, 1024),
                new Case("recall", 256, 1, 1_000_000, 20_000, "rocksdb"));
    }

    public static List<Case> standardCases() {
        List<Case> c = new ArrayList<>();
        for (String model : new String[] {"recall", "fla-1b"}) {
            for (int n : new int[] {64, 256, 1024}) {
                for (int t : new int[] {1, 64}) {
                    c.add(new Case(model, n, t, n, n));
                }
            }
        }
        c.add(new Case("recall", 256, 1, 100_000, 20_000));
        return c;
    }
}
