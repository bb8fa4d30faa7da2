package dev.gdn.operator;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;

/** Every option of the inference operator and the Kafka job, in one place. */
public final class GdnOptions {
    private GdnOptions() {
    }

    public static final ConfigOption<String> MODEL_PATH = ConfigOptions.key("gdn.model.path").stringType()
            .noDefaultValue()
            .withDescription("Checkpoint folder (config.json + model.safetensors) every TaskManager can read.");

    public static final ConfigOption<Integer> BATCH_MAX_KEYS = ConfigOptions.key("gdn.batch.max-keys").intType()
            .defaultValue(256)
            .withDescription("Flush a bundle once it holds events of this many distinct streams.");

    public static final ConfigOption<Integer> BATCH_MAX_TOKENS = ConfigOptions.key("gdn.batch.max-tokens").intType()
            .defaultValue(16384)
            .withDescription("Flush a bundle once its events hold this many tokens in all.");

    public static final ConfigOption<Duration> BATCH_MAX_DELAY = ConfigOptions.key("gdn.batch.max-delay")
            .durationType().defaultValue(Duration.ofMillis(20))
            .withDescription("Flush a bundle once its oldest event has waited this long (processing time). Unset "
                    + "with gdn.delivery=at-least-once: 2 ms (results leave as they are computed, so a bundle does "
                    + "not wait to fill).");

    /** {@link #BATCH_MAX_DELAY} when unset and results are sent at once ({@link #atLeastOnce}). */
    public static final Duration AT_LEAST_ONCE_BATCH_MAX_DELAY = Duration.ofMillis(2);

    public static final ConfigOption<Integer> EVENT_MAX_TOKENS = ConfigOptions.key("gdn.event.max-tokens").intType()
            .defaultValue(4096)
            .withDescription("Events with more tokens go to the dead-letter topic.");

    public static final ConfigOption<Integer> EVENT_MAX_BYTES = ConfigOptions.key("gdn.event.max-bytes").intType()
            .defaultValue(1 << 20)
            .withDescription("Events whose value has more bytes go to the dead-letter topic (their first "
                    + "gdn.dead-letter.max-bytes kept, with the original size and SHA-256).");

    public static final ConfigOption<Integer> EVENT_MAX_KEY_BYTES = ConfigOptions.key("gdn.event.max-key-bytes")
            .intType().defaultValue(1024)
            .withDescription("Events whose Kafka key (the stream id) has more bytes go to the dead-letter topic.");

    public static final ConfigOption<Integer> DEAD_LETTER_MAX_BYTES = ConfigOptions.key("gdn.dead-letter.max-bytes")
            .intType().defaultValue(64 * 1024)
            .withDescription("A dead letter keeps at most this many bytes of the original value (and of its key); "
                    + "the original size and SHA-256 go in headers.");

    public static final ConfigOption<Integer> OUTPUT_MAX_BYTES = ConfigOptions.key("gdn.output.max-bytes").intType()
            .defaultValue(512 * 1024)
            .withDescription("The largest record the job writes: a result larger than this is written as a bounded "
                    + "dead letter instead. Keep it below the topics' max.message.bytes (1 MiB by default).");

    public static final ConfigOption<Boolean> SINK_CHAINED = ConfigOptions.key("gdn.sink.chained").booleanType()
            .defaultValue(true)
            .withDescription("true: the result sink (the JSON of each result and its Kafka record) runs in the "
                    + "inference operator's thread. false: in a thread of its own, results reaching it through "
                    + "Flink's network stack: the operator's thread then only advances and scores, which pays on a "
                    + "GPU whose TaskManager has cores to spare; on a CPU-bound TaskManager the hand-over costs more "
                    + "than it saves.");

    public static final ConfigOption<Integer> TOP_K = ConfigOptions.key("gdn.output.top-k").intType().defaultValue(5)
            .withDescription("Next tokens (with probabilities) in each result; 0 turns them off.");

    public static final ConfigOption<Boolean> DECODE_TOP_K = ConfigOptions.key("gdn.output.decode-top-k")
            .booleanType().defaultValue(false)
            .withDescription("Give each top-k entry its token's text (\"text\"), decoded by the model's tokenizer.json; "
                    + "the job refuses to start when the model has none.");

    public static final ConfigOption<Integer> GENERATE_MAX_TOKENS = ConfigOptions.key("gdn.generate.max-tokens")
            .intType().defaultValue(256)
            .withDescription("Most tokens one generate event may ask for ('max_tokens'); more is a dead letter.");

    public static final ConfigOption<Integer> GENERATE_MAX_CONCURRENT = ConfigOptions.key("gdn.generate.max-concurrent")
            .intType().defaultValue(64)
            .withDescription("Most generations run together in one batched pass (more run in turn).");

    public static final ConfigOption<Integer> SUMMARY_EVERY_TOKENS = ConfigOptions.key("gdn.summary.every-tokens")
            .intType().defaultValue(0)
            .withDescription("Continuous summaries: after the event that takes a stream past every N tokens, a summary "
                    + "generated from a copy of its memory (result control \"summary\", id summary@<tokens>); 0 = off.");

    public static final ConfigOption<Integer> SUMMARY_EVERY_EVENTS = ConfigOptions.key("gdn.summary.every-events")
            .intType().defaultValue(0)
            .withDescription("Continuous summaries: after every N-th event with tokens or text of a stream (counted in "
                    + "keyed state, from its start or its last reset), a summary as for gdn.summary.every-tokens; "
                    + "0 = off.");

    public static final ConfigOption<java.time.Duration> SUMMARY_INTERVAL = ConfigOptions.key("gdn.summary.interval")
            .durationType().defaultValue(java.time.Duration.ZERO)
            .withDescription("Continuous summaries by processing time: a stream that received events gets a summary "
                    + "this long after the first of them (a keyed processing-time timer, checkpointed), then again "
                    + "after its next events; 0 = off.");

    public static final ConfigOption<String> SUMMARY_PROMPT = ConfigOptions.key("gdn.summary.prompt").stringType()
            .defaultValue("")
            .withDescription("Prompt of each summary, as text (needs the model's tokenizer.json); empty: continue from "
                    + "the stream's last token.");

    public static final ConfigOption<Integer> SUMMARY_MAX_TOKENS = ConfigOptions.key("gdn.summary.max-tokens")
            .intType().defaultValue(32)
            .withDescription("Most tokens of a summary (greedy).");

    public static final ConfigOption<Double> SUMMARY_TEMPERATURE = ConfigOptions.key("gdn.summary.temperature")
            .doubleType().defaultValue(0.0)
            .withDescription("Sampling temperature of the summaries; 0 = greedy.");

    public static final ConfigOption<Integer> SUMMARY_TOP_K = ConfigOptions.key("gdn.summary.top-k").intType()
            .defaultValue(0)
            .withDescription("Top-k of the summaries' sampling; 0 = no top-k cut.");

    public static final ConfigOption<Double> SUMMARY_TOP_P = ConfigOptions.key("gdn.summary.top-p").doubleType()
            .defaultValue(1.0)
            .withDescription("Top-p of the summaries' sampling; 1 = no top-p cut.");

    public static final ConfigOption<Long> SUMMARY_SEED = ConfigOptions.key("gdn.summary.seed").longType()
            .defaultValue(0L)
            .withDescription("Seed of the summaries' sampling (the same memory and seed give the same summary).");

    public static final ConfigOption<String> SUMMARY_STOP = ConfigOptions.key("gdn.summary.stop").stringType()
            .defaultValue("")
            .withDescription("Text that ends a summary (kept in it); empty: none.");

    public static final ConfigOption<String> SUMMARY_TOPIC = ConfigOptions.key("gdn.summary.topic").stringType()
            .defaultValue("")
            .withDescription("Topic of the summary policy's results; empty: the results topic.");

    public static final ConfigOption<Boolean> EMIT_EMBEDDING = ConfigOptions.key("gdn.output.emit-embedding")
            .booleanType().defaultValue(false)
            .withDescription("Add the final hidden state after each event to its result.");

    public static final ConfigOption<Integer> CPU_THREADS = ConfigOptions.key("gdn.cpu.threads").intType()
            .defaultValue(0)
            .withDescription("Threads of the CPU kernels per operator instance; 0 = one per core.");

    public static final ConfigOption<String> BACKEND = ConfigOptions.key("gdn.backend").stringType()
            .defaultValue("auto")
            .withDescription("Where the model runs: auto (the GPU when CUDA is usable, else the CPU with one INFO line "
                    + "saying why), cpu, or cuda (fail when CUDA is unusable).");

    public static final ConfigOption<Integer> CUDA_DEVICE = ConfigOptions.key("gdn.cuda.device").intType()
            .defaultValue(-1)
            .withDescription("The GPU (CUDA ordinal) the model runs on; -1: the TaskManager's own gdn.cuda.device "
                    + "(its config.yaml or -D: one GPU per TaskManager), else its GPU from Flink's external-resource "
                    + "framework (external-resources: gpu), else GPU 0.");

    public static final ConfigOption<String> MATMUL_PRECISION = ConfigOptions.key("gdn.cuda.matmul-precision")
            .stringType().defaultValue("fp32")
            .withDescription("Matrix products on the GPU: fp32 (the CPU's results within rounding), tf32 (tensor "
                    + "cores, ~1e-3), bf16-weights (weights in bfloat16: half the GPU memory and bandwidth; "
                    + "activations split into two bf16 parts) or bf16 (weights and activations in bfloat16, one "
                    + "product: the precision class of a bf16 PyTorch model, ~1e-2).");

    public static final ConfigOption<String> STATE_PRECISION = ConfigOptions.key("gdn.cuda.state-precision")
            .stringType().defaultValue("fp32")
            .withDescription("How the GPU keeps the Gated DeltaNet states of resident streams: fp32, or bf16 (half the "
                    + "memory and state traffic; the state is rounded each time a kernel writes it back, so results "
                    + "drift from fp32 by about 1e-2, measured over 10,000 tokens; memories written back to keyed "
                    + "state hold the bf16 values).");

    public static final ConfigOption<String> CHUNK_PRECISION = ConfigOptions.key("gdn.cuda.chunk-precision")
            .stringType().defaultValue("fp32")
            .withDescription("The GPU's chunkwise gated delta rule (runs of 32 tokens and more): fp32 (fused "
                    + "multiply-adds, ~1e-6 from the fp64 reference), 3xtf32 (tensor cores, three TF32 products a "
                    + "tile, ~4e-6) or bf16 (tensor cores on bfloat16 operands, ~4e-3: FLA's precision class, the "
                    + "fastest).");

    public static final ConfigOption<Duration> IDLE_TTL = ConfigOptions.key("gdn.state.idle-ttl").durationType()
            .defaultValue(Duration.ZERO)
            .withDescription("Drop a stream's memory after this long without events (processing time); 0 = never.");

    public static final ConfigOption<String> STORAGE = ConfigOptions.key("gdn.state.storage").stringType()
            .defaultValue("fp32")
            .withDescription("How memories are stored in state and checkpoints: fp32 (exact) or bf16 (half the bytes).");

    public static final ConfigOption<String> ON_MODEL_CHANGE = ConfigOptions.key("gdn.state.on-model-change")
            .stringType().defaultValue("fail")
            .withDescription("Memories of another model on restore: fail (default) or reset (start those streams afresh).");

    /** gdn.state.log-tokens where none is set: on the GPU, where rebuilding is a batched pass, and on the CPU. */
    public static final int LOG_TOKENS_GPU = 63;
    public static final int LOG_TOKENS_CPU = 16;

    public static final ConfigOption<Integer> LOG_TOKENS = ConfigOptions.key("gdn.state.log-tokens").intType()
            .noDefaultValue()
            .withDescription("A stream's memory (0.5 MiB for the recall model) is written to state again only once it "
                    + "has consumed more than this many tokens since it was last written (or since the stream's start "
                    + "or last reset); until then the tokens themselves are written (a token log of a few bytes, bound "
                    + "to the model, the stream and the memory it continues) and run again on top of the stored memory "
                    + "when the stream is next loaded. Checkpoints then cost bytes per token for streams that changed "
                    + "a little, and streams that see few events cost almost nothing in state. 0: always the memory; "
                    + "at most 63 (one less than the chunk length, so the rebuild takes the token-by-token path the "
                    + "tokens first took: the same memory bit for bit on the CPU, within fp32 rounding on the GPU). "
                    + "With gdn.state.idle-ttl, only streams without a stored memory are kept as logs. Default: 63 on "
                    + "the GPU (a rebuild is part of a batched pass), 16 on the CPU (a rebuild costs its tokens' "
                    + "compute, so long logs cost more than reading the memory).");

    public static final ConfigOption<Boolean> VERIFY_ON_RESTORE = ConfigOptions.key("gdn.state.verify-on-restore")
            .booleanType().defaultValue(true)
            .withDescription("After a restore, read every memory once and check that it belongs to the stream it is "
                    + "stored under (every memory is checked again whenever it is loaded). Costs one read of the "
                    + "state: turn off for very large RocksDB states.");

    public static final ConfigOption<Double> MAX_HEAP_FRACTION = ConfigOptions.key("gdn.state.max-heap-fraction")
            .doubleType().defaultValue(0.5)
            .withDescription("With the hashmap state backend: the share of the JVM heap that stream memories may take. "
                    + "Events of a new stream beyond it get an error result saying so (more heap, the rocksdb backend "
                    + "or an idle TTL make room); streams already held are unaffected.");

    public static final ConfigOption<Boolean> CACHE_ENABLED = ConfigOptions.key("gdn.cache.enabled").booleanType()
            .defaultValue(true)
            .withDescription("Keep hot stream memories where the model runs between bundles (a write-back cache of "
                    + "keyed state, written back before every checkpoint barrier). Off: every bundle reads its "
                    + "memories from state and writes them back.");

    public static final ConfigOption<org.apache.flink.configuration.MemorySize> CACHE_CAPACITY = ConfigOptions
            .key("gdn.cache.capacity").memoryType().defaultValue(org.apache.flink.configuration.MemorySize.ZERO)
            .withFallbackKeys("gdn.cuda.memory-pool")
            .withDescription("Bytes of stream memories the cache holds per operator instance (on the GPU: device "
                    + "memory); the least recently used stream leaves when it is full, written back first when dirty. "
                    + "0: 40% of the free device memory on the GPU, a tenth of the JVM heap on the CPU.");

    public static final ConfigOption<String> STATE_BACKEND = ConfigOptions.key("gdn.state.backend").stringType()
            .defaultValue("hashmap")
            .withDescription("hashmap (memories on the JVM heap) or rocksdb (on local disk, incremental checkpoints).");

    public static final ConfigOption<String> DELIVERY = ConfigOptions.key("gdn.delivery").stringType()
            .defaultValue("exactly-once")
            .withDescription("exactly-once: results (and dead letters) are written in Kafka transactions and become "
                    + "visible to read_committed readers at each checkpoint. at-least-once: they are sent at once "
                    + "(milliseconds of latency); after a failure the events since the last checkpoint are answered "
                    + "again with byte-identical results, which a consumer drops by (stream, id).");

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOptions.key("gdn.checkpoint.interval")
            .durationType().defaultValue(Duration.ofSeconds(2))
            .withDescription("Checkpoint interval; results become visible to read_committed readers at each checkpoint.");

    public static final ConfigOption<Boolean> CHECKPOINT_UNALIGNED = ConfigOptions.key("gdn.checkpoint.unaligned")
            .booleanType().defaultValue(true)
            .withDescription("Unaligned checkpoints: a barrier overtakes the events queued in front of it (they are "
                    + "stored in the checkpoint instead), so checkpoints, and with them exactly-once results, keep "
                    + "completing while the job works through a backlog; checkpoints grow by the in-flight data. "
                    + "false: aligned checkpoints, which complete only once the queue in front of the barrier is "
                    + "worked off (under a backlog: no results committed until it is gone). Against your own Kafka "
                    + "(gdn run --bootstrap-servers) and on a cluster, set only when passed (aligned, or the "
                    + "cluster's own setting, otherwise).");

    public static final ConfigOption<String> CHECKPOINT_DIR = ConfigOptions.key("gdn.checkpoint.dir").stringType()
            .noDefaultValue()
            .withDescription("Checkpoint directory (a file-system URI such as file:///... or s3://...).");

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("gdn.kafka.bootstrap-servers")
            .stringType().noDefaultValue().withDescription("Kafka bootstrap servers.");

    public static final ConfigOption<String> INPUT_TOPIC = ConfigOptions.key("gdn.kafka.input-topic").stringType()
            .defaultValue("gdn-events").withDescription("Topic of events (key = stream id, value = JSON event).");

    public static final ConfigOption<String> OUTPUT_TOPIC = ConfigOptions.key("gdn.kafka.output-topic").stringType()
            .defaultValue("gdn-results").withDescription("Topic of results, one per event (key = stream id).");

    public static final ConfigOption<String> DEAD_LETTER_TOPIC = ConfigOptions.key("gdn.kafka.dead-letter-topic")
            .stringType().defaultValue("gdn-dead-letter")
            .withDescription("Topic of malformed events with the reason.");

    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("gdn.kafka.group-id").stringType()
            .defaultValue("gdn").withDescription("Consumer group of the source (offsets live in checkpoints).");

    public static final ConfigOption<Duration> KAFKA_CHECK_TIMEOUT = ConfigOptions.key("gdn.kafka.check-timeout")
            .durationType().defaultValue(Duration.ofSeconds(30))
            .withDescription("Before the job is submitted: how long to wait for the brokers to answer and the topics "
                    + "to be described; a missing topic or silent broker fails the submission naming it. 0 skips the "
                    + "check.");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOptions
            .key("gdn.kafka.transactional-id-prefix").stringType().defaultValue("gdn")
            .withDescription("Prefix of the exactly-once sinks' transactional ids; unique per job on a cluster.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = ConfigOptions.key("gdn.kafka.transaction-timeout")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("Kafka transaction timeout; must not exceed the broker's transaction.max.timeout.ms "
                    + "(15 min by default) and must exceed the checkpoint interval plus restart time.");

    /** The largest CPU kernel thread count accepted (a typo such as 100000 would fail at thread start). */
    public static final int MAX_CPU_THREADS = 1024;

    /**
     * The largest share of the heap stream memories may take: the rest holds the memory cache (a tenth
     * of the heap by default), bundles in flight, Kafka buffers and the copies a heap snapshot makes.
     */
    public static final double MAX_HEAP_FRACTION_LIMIT = 0.5;

    /** The longest summary interval accepted (a keyed timer at now + interval must not overflow). */
    public static final Duration MAX_SUMMARY_INTERVAL = Duration.ofDays(365);

    /**
     * Checks every {@code gdn.*} value before anything starts, naming the key and the value on error:
     * unknown keys (with the nearest known one), values of the wrong type, and values out of range.
     *
     * @throws IllegalArgumentException on an unknown key or an invalid value
     */
    public static void validate(Configuration c) {
        checkKeys(c);
        for (ConfigOption<?> o : all()) {
            read(c, o);
        }
        positive(c, BATCH_MAX_KEYS);
        positive(c, BATCH_MAX_TOKENS);
        positive(c, EVENT_MAX_TOKENS);
        positive(c, EVENT_MAX_BYTES);
        positive(c, EVENT_MAX_KEY_BYTES);
        positive(c, GENERATE_MAX_TOKENS);
        positive(c, GENERATE_MAX_CONCURRENT);
        positive(c, SUMMARY_MAX_TOKENS);
        if (c.get(SUMMARY_MAX_TOKENS) > c.get(GENERATE_MAX_TOKENS)) {
            throw new IllegalArgumentException(SUMMARY_MAX_TOKENS.key() + " = " + c.get(SUMMARY_MAX_TOKENS)
                    + " is more than " + GENERATE_MAX_TOKENS.key() + " = " + c.get(GENERATE_MAX_TOKENS)
                    + ", the most tokens any generation may take");
        }
        atLeast(c, SUMMARY_EVERY_TOKENS, 0);
        atLeast(c, SUMMARY_EVERY_EVENTS, 0);
        atLeast(c, SUMMARY_TOP_K, 0);
        Duration interval = c.get(SUMMARY_INTERVAL);
        if (interval.isNegative() || (!interval.isZero() && interval.compareTo(Duration.ofMillis(1)) < 0)
                || interval.compareTo(MAX_SUMMARY_INTERVAL) > 0) {
            throw new IllegalArgumentException(SUMMARY_INTERVAL.key() + " = " + interval
                    + ": expected 0 (off) or a duration from 1 ms to " + MAX_SUMMARY_INTERVAL.toDays() + " days");
        }
        double temperature = c.get(SUMMARY_TEMPERATURE);
        if (!(temperature >= 0 && temperature <= 100)) {
            throw new IllegalArgumentException(SUMMARY_TEMPERATURE.key() + " = " + temperature
                    + ": expected 0 (greedy) to 100");
        }
        double topP = c.get(SUMMARY_TOP_P);
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException(SUMMARY_TOP_P.key() + " = " + topP + ": expected a value in (0, 1]");
        }
        positive(c, DEAD_LETTER_MAX_BYTES);
        positive(c, OUTPUT_MAX_BYTES);
        if (c.get(CUDA_DEVICE) < -1) {
            throw new IllegalArgumentException(CUDA_DEVICE.key() + " = " + c.get(CUDA_DEVICE)
                    + ": expected a CUDA ordinal (0, 1, ...) or -1 for the TaskManager's GPU external resource");
        }
        long deadLetterBound = 2L * c.get(DEAD_LETTER_MAX_BYTES) + dev.gdn.job.BoundedRecords.HEADER_BYTES;
        if (deadLetterBound > c.get(OUTPUT_MAX_BYTES)) {
            throw new IllegalArgumentException(DEAD_LETTER_MAX_BYTES.key() + " = " + c.get(DEAD_LETTER_MAX_BYTES)
                    + " makes dead letters of up to " + deadLetterBound + " bytes (key and value at most that each, plus "
                    + "headers), more than " + OUTPUT_MAX_BYTES.key() + " = " + c.get(OUTPUT_MAX_BYTES));
        }
        atLeast(c, TOP_K, 0);
        int threads = c.get(CPU_THREADS);
        if (threads < 0 || threads > MAX_CPU_THREADS) {
            throw new IllegalArgumentException(CPU_THREADS.key() + " = " + threads + ": expected 0 (one per core) to "
                    + MAX_CPU_THREADS);
        }
        positiveDuration(c, BATCH_MAX_DELAY);
        notNegative(c, IDLE_TTL);
        notNegative(c, KAFKA_CHECK_TIMEOUT);
        positiveDuration(c, TRANSACTION_TIMEOUT);
        if (c.get(CHECKPOINT_INTERVAL).compareTo(Duration.ofMillis(10)) < 0) {
            throw new IllegalArgumentException(CHECKPOINT_INTERVAL.key() + " = " + c.get(CHECKPOINT_INTERVAL)
                    + ": expected at least 10 ms (a unit is needed: 2s, not 2)");
        }
        int logTokens = c.getOptional(LOG_TOKENS).orElse(LOG_TOKENS_CPU);
        if (logTokens < 0 || logTokens > dev.gdn.state.TokenLogFormat.MAX_TOKENS) {
            throw new IllegalArgumentException(LOG_TOKENS.key() + " = " + logTokens + ": expected 0.."
                    + dev.gdn.state.TokenLogFormat.MAX_TOKENS + " (one less than the 64-token chunk length)");
        }
        double heap = c.get(MAX_HEAP_FRACTION);
        if (!(heap > 0 && heap <= MAX_HEAP_FRACTION_LIMIT)) {
            throw new IllegalArgumentException(MAX_HEAP_FRACTION.key() + " = " + heap + ": expected a share in (0, "
                    + MAX_HEAP_FRACTION_LIMIT + "]; the rest of the heap holds the memory cache, bundles in flight "
                    + "and snapshot copies (use the rocksdb backend for more streams than that)");
        }
        oneOf(c, STORAGE, "fp32", "bf16");
        oneOf(c, DELIVERY, "exactly-once", "at-least-once");
        oneOf(c, ON_MODEL_CHANGE, "fail", "reset");
        oneOf(c, STATE_BACKEND, "hashmap", "rocksdb");
        oneOf(c, BACKEND, "auto", "cpu", "cuda");
        oneOf(c, MATMUL_PRECISION, "fp32", "tf32", "bf16", "bf16-weights");
        oneOf(c, CHUNK_PRECISION, "fp32", "3xtf32", "bf16");
        oneOf(c, STATE_PRECISION, "fp32", "bf16");
    }

    /** Every option declared here (found once: the options are the static fields above). */
    public static List<ConfigOption<?>> all() {
        return AllOptions.LIST;
    }

    /** Holds {@link #all()}, filled when first asked for, after every option field is set. */
    private static final class AllOptions {
        static final List<ConfigOption<?>> LIST = List.copyOf(declared());
    }

    private static List<ConfigOption<?>> declared() {
        List<ConfigOption<?>> options = new ArrayList<>();
        for (Field f : GdnOptions.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == ConfigOption.class) {
                try {
                    options.add((ConfigOption<?>) f.get(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return options;
    }

    /** Refuses a {@code gdn.*} key that no option declares, naming the nearest one that does. */
    private static void checkKeys(Configuration c) {
        Set<String> known = new TreeSet<>();
        for (ConfigOption<?> o : all()) {
            known.add(o.key());
            o.fallbackKeys().forEach(k -> known.add(k.getKey()));
        }
        for (String key : c.keySet()) {
            if (key.startsWith("gdn.") && !known.contains(key)) {
                String nearest = known.stream().min(java.util.Comparator.comparingInt(k -> editDistance(key, k)))
                        .orElseThrow();
                throw new IllegalArgumentException("unknown option " + key + " (did you mean " + nearest
                        + "? every option is in the README's table)");
            }
        }
    }

    /** Reads {@code o}, turning a value of the wrong type into an error naming the key and the value. */
    private static void read(Configuration c, ConfigOption<?> o) {
        try {
            c.get(o);
        } catch (RuntimeException e) {
            String raw = c.toMap().get(o.key());
            for (var k : o.fallbackKeys()) {
                raw = raw != null ? raw : c.toMap().get(k.getKey());
            }
            throw new IllegalArgumentException(o.key() + " = '" + raw + "': not " + kind(o));
        }
    }

    private static String kind(ConfigOption<?> o) {
        String type = o.defaultValue() == null ? "String" : o.defaultValue().getClass().getSimpleName();
        switch (type) {
            case "Integer": return "an integer (from " + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE + ")";
            case "Long": return "an integer";
            case "Double": return "a number";
            case "Boolean": return "true or false";
            case "Duration": return "a duration such as 20ms, 2s or 5min";
            case "MemorySize": return "a size such as 512mb or 2gb";
            default: return "a valid value";
        }
    }

    /** Levenshtein distance, for suggesting the nearest known key. */
    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static void atLeast(Configuration c, ConfigOption<Integer> o, int min) {
        if (c.get(o) < min) {
            throw new IllegalArgumentException(o.key() + " must be >= " + min + ", got " + c.get(o));
        }
    }

    private static void positiveDuration(Configuration c, ConfigOption<Duration> o) {
        if (c.get(o).isNegative() || c.get(o).isZero()) {
            throw new IllegalArgumentException(o.key() + " must be > 0, got " + c.get(o));
        }
    }

    private static void notNegative(Configuration c, ConfigOption<Duration> o) {
        if (c.get(o).isNegative()) {
            throw new IllegalArgumentException(o.key() + " must be >= 0, got " + c.get(o));
        }
    }

    private static void positive(Configuration c, ConfigOption<Integer> o) {
        if (c.get(o) < 1) {
            throw new IllegalArgumentException(o.key() + " must be >= 1, got " + c.get(o));
        }
    }

    /**
     * How long a bundle may wait for more events: {@link #BATCH_MAX_DELAY} when set, else 2 ms in at-least-once
     * mode (a bundle's wait is the floor of each result's latency there) and 20 ms otherwise (the checkpoint
     * interval is that floor; fuller bundles cost less per event).
     */
    public static Duration batchMaxDelay(Configuration c) {
        return c.getOptional(BATCH_MAX_DELAY)
                .orElse(atLeastOnce(c) ? AT_LEAST_ONCE_BATCH_MAX_DELAY : BATCH_MAX_DELAY.defaultValue());
    }

    /** Whether results are sent at once rather than in transactions ({@link #DELIVERY}). */
    public static boolean atLeastOnce(Configuration c) {
        return c.get(DELIVERY).equals("at-least-once");
    }

    private static void oneOf(Configuration c, ConfigOption<String> o, String... values) {
        String v = c.get(o);
        for (String ok : values) {
            if (ok.equals(v)) {
                return;
            }
        }
        throw new IllegalArgumentException(o.key() + " is '" + v + "', expected one of " + String.join(", ", values));
    }
}
