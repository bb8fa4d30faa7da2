package dev.gdn.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gdn.demo.DemoEvent;
import dev.gdn.job.BoundedRecords;
import dev.gdn.job.FailOnce;
import dev.gdn.job.FlinkSettings;
import dev.gdn.job.GdnJob;
import dev.gdn.job.RootCause;
import dev.gdn.operator.GdnOptions;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * One run of the job on a local Flink MiniCluster against a Kafka cluster: produce the events, run the
 * job, read the committed results and dead letters back (read_committed) until every event is
 * accounted for, then cancel the job, or stop it with a savepoint.
 */
public final class LocalRun {
    /** File written next to a savepoint taken by {@code --stop-after}: how many events it covers. */
    public static final String MARKER = "gdn-run.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What to run. */
    public record Plan(Configuration options, List<DemoEvent> events, int parallelism, int alreadyDone,
            int produceUpTo, Path savepointDir, Path fromSavepoint, Duration stallTimeout, long failAfter,
            double eventsPerSecond, Duration latencyWarmUp) {
        /** A plan whose latency (for a paced run) counts events sent from {@link #WARM_UP} after the first result. */
        public Plan(Configuration options, List<DemoEvent> events, int parallelism, int alreadyDone, int produceUpTo,
                Path savepointDir, Path fromSavepoint, Duration stallTimeout, long failAfter, double eventsPerSecond) {
            this(options, events, parallelism, alreadyDone, produceUpTo, savepointDir, fromSavepoint, stallTimeout,
                    failAfter, eventsPerSecond, WARM_UP);
        }
    }

    /**
     * What happened. {@code latenciesMillis}: for a paced run ({@code eventsPerSecond > 0}), the time from
     * sending each event to reading its committed result, sorted; empty otherwise.
     */
    /**
     * By default latency counts events sent this long after the first result: the JIT compiles the kernels
     * first, and the backlog of that time drains.
     */
    public static final Duration WARM_UP = Duration.ofSeconds(10);

    public record Outcome(RunReport.Verdict verdict, double elapsedSeconds, String savepoint, long[] latenciesMillis,
            int duplicates, List<RunReport.Committed> deadLetters) {
        /** The q-quantile (0..1) of the latencies, or -1 without any. */
        public long latencyQuantile(double q) {
            if (latenciesMillis.length == 0) {
                return -1;
            }
            return latenciesMillis[Math.min(latenciesMillis.length - 1, (int) Math.ceil(q * latenciesMillis.length) - 1)];
        }
    }

    private LocalRun() {
    }

    /**
     * Runs the plan; {@code progress} receives a line every couple of seconds.
     *
     * @throws IllegalStateException when no progress is made for the stall timeout
     */
    public static Outcome run(Plan plan, PrintWriter progress) throws Exception {
        Configuration c = plan.options();
        String servers = c.get(GdnOptions.BOOTSTRAP_SERVERS);
        List<DemoEvent> expected = plan.events().subList(plan.alreadyDone(), plan.produceUpTo());
        boolean paced = plan.eventsPerSecond() > 0;
        if (!paced) {
            produce(servers, c.get(GdnOptions.INPUT_TOPIC), plan.events().subList(0, plan.produceUpTo()));
        } else if (plan.alreadyDone() > 0) {
            produce(servers, c.get(GdnOptions.INPUT_TOPIC), plan.events().subList(0, plan.alreadyDone()));
        }
        java.util.Map<String, Long> sentAt = new java.util.concurrent.ConcurrentHashMap<>();
        List<Long> latencies = new ArrayList<>();

        Configuration flink = FlinkSettings.of(c);
        if (plan.fromSavepoint() != null) {
            flink.set(StateRecoveryOptions.SAVEPOINT_PATH, plan.fromSavepoint().toString());
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(plan.parallelism(), flink);
        GdnJob.build(env, c, plan.failAfter());
        long start = System.nanoTime();
        JobClient job = env.executeAsync("gdn");
        java.util.concurrent.CompletableFuture<org.apache.flink.api.common.JobExecutionResult> finished =
                job.getJobExecutionResult();
        Thread pacer = null;
        if (paced) {
            pacer = new Thread(() -> {
                try {
                    producePaced(servers, c.get(GdnOptions.INPUT_TOPIC), plan.events(), plan.alreadyDone(),
                            plan.produceUpTo(), plan.eventsPerSecond(), sentAt);
                } catch (Exception e) {
                    progress.println("producer failed: " + e);
                }
            }, "gdn-paced-producer");
            pacer.setDaemon(true);
            pacer.start();
        }
        List<RunReport.Committed> results = new ArrayList<>();
        List<RunReport.Committed> dead = new ArrayList<>();
        String savepoint = null;
        try (KafkaConsumer<byte[], byte[]> consumer = committedReader(servers);
                KafkaConsumer<byte[], byte[]> uncommitted = uncommittedReader(servers)) {
            List<TopicPartition> out = partitions(consumer, c.get(GdnOptions.OUTPUT_TOPIC));
            List<TopicPartition> dlq = partitions(consumer, c.get(GdnOptions.DEAD_LETTER_TOPIC));
            List<TopicPartition> all = new ArrayList<>(out);
            all.addAll(dlq);
            if (!c.get(GdnOptions.SUMMARY_TOPIC).isEmpty()) {
                // the summary policy's results, when they have a topic of their own: read there
                all.addAll(partitions(consumer, c.get(GdnOptions.SUMMARY_TOPIC)));
            }
            consumer.assign(all);
            consumer.seekToBeginning(all);
            uncommitted.assign(all);
            uncommitted.seekToEnd(all);
            long processed = 0;
            long lastChange = System.nanoTime();
            long lastPrint = 0;
            int seen = 0;
            boolean reported = false;
            long firstResultAt = 0;
            int[] policy = {0}; // results the summary policy wrote: not answers to events
            // at-least-once: the copies a replay after a failure sent again, byte for byte, are dropped here
            // as a consumer drops them; a copy that differs stays and shows as an unexpected second answer
            Replays replays = GdnOptions.atLeastOnce(c) ? new Replays() : null;
            while (results.size() - policy[0] + dead.size() < expected.size()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
                    String key = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
                    if (paced && r.topic().equals(c.get(GdnOptions.OUTPUT_TOPIC))) {
                        long now = System.nanoTime();
                        if (firstResultAt == 0) {
                            firstResultAt = now;
                        }
                        Long t0 = sentAt.get(key + "\u0000" + idOf(r.value()));
                        // steady state: events sent after the first result (start-up and model load excluded)
                        if (t0 != null && t0 > firstResultAt + plan.latencyWarmUp().toNanos()) {
                            latencies.add((now - t0) / 1_000_000);
                        }
                    }
                    collect(r, key, results, dead, policy, c, replays);
                }
                processed += uncommitted.poll(Duration.ofMillis(5)).count();
                long now = System.nanoTime();
                int total = results.size() + dead.size();
                if (total != seen) {
                    seen = total;
                    lastChange = now;
                }
                if (now - lastPrint > 2_000_000_000L) {
                    lastPrint = now;
                    progress.printf("progress: %d of %d events processed, %d %s (results=%d dead_letter=%d; %s) "
                            + "after %.1f s%n", Math.min(Math.max(processed, total), expected.size()), expected.size(),
                            total, replays != null ? "read" : "committed", results.size(), dead.size(),
                            replays != null ? "results are sent as they are computed"
                                    : "results are committed at each checkpoint, every "
                                            + c.get(GdnOptions.CHECKPOINT_INTERVAL).toMillis() + " ms",
                            (now - start) / 1e9);
                    progress.flush();
                }
                if (plan.failAfter() > 0 && FailOnce.fired() && !reported) {
                    reported = true;
                    progress.println("progress: injected failure fired; the job restarts from its last checkpoint");
                }
                if (finished.isDone()) {
                    try {
                        finished.get();
                    } catch (java.util.concurrent.ExecutionException e) {
                        throw new IllegalStateException("the job failed: " + RootCause.jobFailure(e, plan.fromSavepoint()));
                    }
                    throw new IllegalStateException("the job ended after " + total + " of " + expected.size()
                            + " events were answered");
                }
                if (now - lastChange > plan.stallTimeout().toNanos()) {
                    throw new IllegalStateException("no new results for " + plan.stallTimeout().toSeconds() + " s; "
                            + total + " of " + expected.size() + " events answered");
                }
            }
            double elapsed = (System.nanoTime() - start) / 1e9;
            if (c.get(GdnOptions.SUMMARY_EVERY_TOKENS) > 0 || c.get(GdnOptions.SUMMARY_EVERY_EVENTS) > 0) {
                // summaries written after the last events are committed with them or at the next checkpoint
                long until = System.nanoTime() + c.get(GdnOptions.CHECKPOINT_INTERVAL).toNanos() + 2_000_000_000L;
                while (System.nanoTime() < until) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                        collect(r, r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8), results, dead,
                                policy, c, replays);
                    }
                }
            }
            if (plan.savepointDir() != null) {
                savepoint = job.stopWithSavepoint(false, plan.savepointDir().toUri().toString(),
                        SavepointFormatType.CANONICAL).get(5, TimeUnit.MINUTES);
                ObjectNode marker = JSON.createObjectNode().put("events_done", plan.produceUpTo())
                        .put("savepoint", savepoint);
                Files.createDirectories(plan.savepointDir());
                Files.writeString(plan.savepointDir().resolve(MARKER), marker.toPrettyString());
            } else {
                job.cancel().get(1, TimeUnit.MINUTES);
            }
            RunReport.Verdict v = new RunReport(expected).check(results, dead);
            long[] lat = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            return new Outcome(v, elapsed, savepoint, lat, replays == null ? 0 : replays.dropped, List.copyOf(dead));
        } catch (Exception e) {
            try {
                job.cancel().get(1, TimeUnit.MINUTES);
            } catch (Exception ignored) {
                // the job may already have ended; the original failure is what matters
            }
            throw e;
        }
    }

    /** Reads the marker a savepoint run left: the savepoint path and how many events it covered. */
    public static ObjectNode readMarker(Path dir) throws java.io.IOException {
        Path m = Files.isRegularFile(dir.resolve(MARKER)) ? dir.resolve(MARKER)
                : dir.getParent() == null ? dir.resolve(MARKER) : dir.getParent().resolve(MARKER);
        if (!Files.isRegularFile(m)) {
            throw new IllegalArgumentException("--from-savepoint " + dir + ": no " + MARKER
                    + " found there or in its parent; give the --savepoint-dir of a `gdn run --stop-after` run");
        }
        return (ObjectNode) JSON.readTree(m.toFile());
    }

    /**
     * The demo producer's settings: acknowledged by all replicas, one request in flight (order kept
     * without the idempotent producer, whose producer-id handshake with a freshly started embedded
     * broker was seen to stall a run).
     */
    static Properties producerProperties(String servers, int lingerMs) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        p.put(ProducerConfig.LINGER_MS_CONFIG, Integer.toString(lingerMs));
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(EmbeddedKafka.MAX_MESSAGE_BYTES));
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Long.toString(2L * EmbeddedKafka.MAX_MESSAGE_BYTES));
        return p;
    }

    static void produce(String servers, String topic, List<DemoEvent> events) throws Exception {
        Properties p = producerProperties(servers, 5);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            int partitions = producer.partitionsFor(topic).size();
            java.util.concurrent.atomic.AtomicReference<String> failed = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
            for (int i = 0; i < events.size(); i++) {
                DemoEvent e = events.get(i);
                byte[] key = e.stream() == null ? null : e.stream().getBytes(StandardCharsets.UTF_8);
                int partition = partitionOf(key, i, partitions);
                producer.send(new ProducerRecord<>(topic, partition, key, e.value()), (md, ex) -> {
                    if (ex != null) {
                        failures.incrementAndGet();
                        failed.compareAndSet(null, "event " + e.id() + " (" + e.value().length + " bytes): "
                                + RootCause.line(ex));
                    }
                });
            }
            producer.flush();
            if (failures.get() > 0) {
                throw new IllegalStateException(failures.get() + " of " + events.size()
                        + " events could not be sent to the input topic; the first: " + failed.get());
            }
        }
    }

    private static String idOf(byte[] resultJson) {
        try {
            return JSON.readTree(resultJson).path("id").asText(null);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /**
     * Explicit partitions (Kafka's own hash for keys, the position for key-less records), so that a
     * resumed run re-produces every event at the offset its savepoint expects.
     */
    static int partitionOf(byte[] key, int index, int partitions) {
        return key == null ? index % partitions : Utils.toPositive(Utils.murmur2(key)) % partitions;
    }

    /** Sends events {@code [from, to)} at a fixed rate, recording when each was sent. */
    static void producePaced(String servers, String topic, List<DemoEvent> events, int from, int to, double rate,
            java.util.Map<String, Long> sentAt) throws Exception {
        Properties p = producerProperties(servers, 0);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            int partitions = producer.partitionsFor(topic).size();
            long start = System.nanoTime();
            for (int i = from; i < to; i++) {
                long due = start + (long) ((i - from) * 1e9 / rate);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                DemoEvent e = events.get(i);
                byte[] key = e.stream() == null ? null : e.stream().getBytes(StandardCharsets.UTF_8);
                int partition = partitionOf(key, i, partitions);
                sentAt.put(e.stream() + "\u0000" + e.id(), System.nanoTime());
                producer.send(new ProducerRecord<>(topic, partition, key, e.value()));
            }
            producer.flush();
        }
    }

    static KafkaConsumer<byte[], byte[]> committedReader(String servers) {
        return reader(servers, "read_committed");
    }

    /** Sees results as soon as they are written, before their checkpoint commits them: for progress only. */
    static KafkaConsumer<byte[], byte[]> uncommittedReader(String servers) {
        return reader(servers, "read_uncommitted");
    }

    private static KafkaConsumer<byte[], byte[]> reader(String servers, String isolation) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String topic) {
        List<TopicPartition> tp = new ArrayList<>();
        for (PartitionInfo pi : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
            tp.add(new TopicPartition(topic, pi.partition()));
        }
        return tp;
    }

    /** Files one committed record as a result (counting those the summary policy wrote) or a dead letter. */
    private static void collect(ConsumerRecord<byte[], byte[]> r, String key, List<RunReport.Committed> results,
            List<RunReport.Committed> dead, int[] policy, Configuration c, Replays replays) {
        if (replays != null && !replays.firstCopy(r)) {
            return;
        }
        if (r.topic().equals(c.get(GdnOptions.OUTPUT_TOPIC)) || r.topic().equals(c.get(GdnOptions.SUMMARY_TOPIC))) {
            results.add(new RunReport.Committed(key, r.value()));
            if (new String(r.value(), StandardCharsets.UTF_8).contains("\"control\":\"summary\"")) {
                policy[0]++;
            }
        } else {
            dead.add(RunReport.Committed.deadLetter(r));
        }
    }

    /**
     * What an at-least-once reader keeps: the first copy of every record (topic, key, value and, for a
     * dead letter, the input record it stands for); byte-identical copies a replay sent again are counted.
     */
    static final class Replays {
        private final java.util.Set<String> seen = new java.util.HashSet<>();
        int dropped;

        boolean firstCopy(ConsumerRecord<byte[], byte[]> r) {
            var source = r.headers().lastHeader(BoundedRecords.SOURCE);
            String id = r.topic() + "\u0000" + (r.key() == null ? "-" : BoundedRecords.sha256(r.key())) + "\u0000"
                    + (r.value() == null ? "-" : BoundedRecords.sha256(r.value())) + "\u0000"
                    + (source == null ? "" : new String(source.value(), StandardCharsets.UTF_8));
            if (seen.add(id)) {
                return true;
            }
            dropped++;
            return false;
        }
    }
}
