package dev.gdn.job;

import dev.gdn.operator.GdnOptions;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Entry point on a Flink cluster ({@code flink run -c dev.gdn.job.GdnJobMain gdn.jar --gdn.model.path /models/x
 * --gdn.kafka.bootstrap-servers kafka:9092 ...}): every {@code --gdn.*} argument is an option of
 * {@link GdnOptions}. The cluster's configuration stands (restart strategy, checkpointing, state backend);
 * the job adds only the options the user passed ({@link FlinkSettings#forCluster}).
 */
public final class GdnJobMain {
    private GdnJobMain() {
    }

    public static void main(String[] args) throws Exception {
        Configuration c = Configuration.fromMap(parse(args));
        GdnOptions.validate(c);
        checkKafka(c);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // the cluster's configuration stands; only what the user passed is added
        env.configure(FlinkSettings.forCluster(c, env.getConfiguration()));
        GdnJob.build(env, c);
        env.execute("gdn " + c.get(GdnOptions.INPUT_TOPIC) + " -> " + c.get(GdnOptions.OUTPUT_TOPIC));
    }

    /**
     * The brokers answer and the topics exist, before anything is submitted (a job would otherwise
     * restart against a missing topic until its restart budget is spent).
     */
    public static void checkKafka(Configuration c) {
        java.time.Duration timeout = c.get(GdnOptions.KAFKA_CHECK_TIMEOUT);
        String servers = c.getOptional(GdnOptions.BOOTSTRAP_SERVERS)
                .orElseThrow(() -> new IllegalArgumentException(GdnOptions.BOOTSTRAP_SERVERS.key() + " is not set"));
        if (timeout.isZero()) {
            return;
        }
        try (KafkaPreflight kafka = new KafkaPreflight(servers, timeout)) {
            kafka.brokersAnswer();
            kafka.topicsExist(topics(c, true));
            kafka.acceptsRecordsOf(topics(c, false), c.get(GdnOptions.OUTPUT_MAX_BYTES), GdnOptions.OUTPUT_MAX_BYTES.key());
        }
    }

    /** Every topic the job reads ({@code withInput}) and writes: results, dead letters, summaries. */
    static java.util.List<String> topics(Configuration c, boolean withInput) {
        java.util.List<String> t = new java.util.ArrayList<>();
        if (withInput) {
            t.add(c.get(GdnOptions.INPUT_TOPIC));
        }
        t.add(c.get(GdnOptions.OUTPUT_TOPIC));
        t.add(c.get(GdnOptions.DEAD_LETTER_TOPIC));
        if (!c.get(GdnOptions.SUMMARY_TOPIC).isEmpty()) {
            t.add(c.get(GdnOptions.SUMMARY_TOPIC));
        }
        return t;
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--gdn.") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --gdn.<option> <value> pairs, found '" + a + "'");
            }
            m.put(a.substring(2), args[++i]);
        }
        return m;
    }
}
