package dev.gdn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gdn.demo.DemoEvent;
import dev.gdn.demo.SensorReadings;
import dev.gdn.job.BoundedRecords;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Matches the committed results and dead letters of a run against the events sent: every event must
 * have exactly one result or one dead-letter record; gets are checked against their expected token.
 */
public final class RunReport {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A committed record of the output or dead-letter topic. */
    public record Committed(String key, byte[] value, String signature, String reason) {
        /** A result. */
        public Committed(String key, byte[] value) {
            this(key, value, null, null);
        }

        /** A dead letter of that signature, its reason unknown. */
        public Committed(String key, byte[] value, String signature) {
            this(key, value, signature, null);
        }

        /**
         * A dead letter: its signature is the digest of the original key and value, taken from the
         * headers of a cut one ({@link BoundedRecords}).
         */
        public static Committed deadLetter(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> r) {
            String key = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
            var k = r.headers().lastHeader(BoundedRecords.ORIGINAL_KEY_SHA256);
            var v = r.headers().lastHeader(BoundedRecords.ORIGINAL_VALUE_SHA256);
            String keySha = k != null ? new String(k.value(), StandardCharsets.UTF_8)
                    : r.key() == null ? "-" : BoundedRecords.sha256(r.key());
            String valueSha = v != null ? new String(v.value(), StandardCharsets.UTF_8)
                    : r.value() == null ? "-" : BoundedRecords.sha256(r.value());
            var why = r.headers().lastHeader(BoundedRecords.REASON);
            return new Committed(key, r.value(), keySha + "/" + valueSha,
                    why == null ? null : new String(why.value(), StandardCharsets.UTF_8));
        }
    }

    private final List<DemoEvent> events;
    private final Map<String, List<Integer>> eventIndex = new HashMap<>();
    private final Map<String, Integer> eventOrder = new HashMap<>();
    /** Per stream, in order, the events sent without an "id": their results carry none either. */
    private final Map<String, java.util.ArrayDeque<Integer>> withoutId = new HashMap<>();

    /** The summary demo's truth, when the events are its sensor readings. */
    private final SensorReadings sensors;
    /** Per event, its {@code "label"} (an annotation the job ignores), or null. */
    private final String[] labels;

    public RunReport(List<DemoEvent> events) {
        this.events = events;
        this.sensors = new SensorReadings(events);
        this.labels = new String[events.size()];
        for (int i = 0; i < events.size(); i++) {
            DemoEvent e = events.get(i);
            labels[i] = label(e);
            eventIndex.computeIfAbsent(e.stream() + "\u0000" + e.id(), k -> new ArrayList<>()).add(i);
            eventOrder.put(e.stream() + "\u0000" + e.id(), i);
            if (sentWithoutId(e)) {
                withoutId.computeIfAbsent(e.stream(), k -> new java.util.ArrayDeque<>()).add(i);
            }
        }
    }

    /** The verdict of a finished run. */
    public record Verdict(int events, int results, int deadLetters, int streams, int gets, int correct, int missing,
            int unexpected, List<String> sortedResults, int summaries, int exactSummaries, int policySummaries,
            int uncheckedGets, int policyChecked, int policyExact, Classification classification) {
        public boolean ok() {
            return missing == 0 && unexpected == 0;
        }

        public double accuracy() {
            return gets == 0 ? Double.NaN : correct / (double) gets;
        }

        /**
         * {@code summaries: requests=.. exact=..}: generations checked against an expected text, and the
         * summaries the summary policy wrote ({@code policy=..}) when there are any.
         */
        public String summaryLine() {
            return String.format(Locale.ROOT, "summaries: requests=%d exact=%d", summaries, exactSummaries)
                    + (policySummaries > 0 ? " policy=" + policySummaries : "")
                    + (policyChecked > 0 ? " policy_exact=" + policyExact + " (of " + policyChecked
                            + " checked against the sensor readings before each)" : "");
        }

        /**
         * {@code recall: gets=.. correct=.. accuracy=..} over the recall questions (GET events) whose
         * results carry an answer (top k or generated tokens); says so instead when there are none, or
         * none could be checked (results without top k: {@code --top-k 0}).
         */
        public String recallLine() {
            if (gets == 0) {
                return uncheckedGets == 0 ? "recall: no recall questions (GET events) in this input"
                        : "recall: not checked: the results of the " + uncheckedGets + " GET events carry no top_k "
                                + "(--top-k 0)";
            }
            return String.format(Locale.ROOT, "recall: gets=%d correct=%d accuracy=%.4f", gets, correct, accuracy())
                    + (uncheckedGets > 0 ? " unchecked=" + uncheckedGets + " (results without top_k)" : "");
        }

        /**
         * {@code classification: events=.. correct=.. accuracy=..} over the answered events that carry a
         * {@code "label"}; says so instead when their results carry no label (a model without a
         * classification head); null when no event carries one.
         */
        public String classificationLine() {
            Classification c = classification;
            if (c.labeled() == 0) {
                return null;
            }
            if (c.checked() == 0) {
                return "classification: not checked: the results of the " + c.unchecked() + " labeled events carry no "
                        + "label (the model has no classification head: fit one with gdn head fit)";
            }
            return String.format(Locale.ROOT, "classification: events=%d correct=%d accuracy=%.4f", c.checked(),
                    c.correct(), c.correct() / (double) c.checked())
                    + (c.unchecked() > 0 ? " unchecked=" + c.unchecked() + " (results without a label: errors)" : "");
        }

        public String runLine(double elapsedSeconds) {
            return String.format(Locale.ROOT, "run: events_in=%d results=%d dead_letter=%d streams=%d elapsed_s=%.1f",
                    events, results, deadLetters, streams, elapsedSeconds);
        }
    }

    /**
     * The events that carry a {@code "label"} ({@code labeled}) and, of those answered, how many results
     * carried a label ({@code checked}) and how many of those were the event's ({@code correct}).
     */
    public record Classification(int labeled, int checked, int correct, int unchecked) {
    }

    public Verdict check(List<Committed> results, List<Committed> deadLetters) throws IOException {
        Map<String, Integer> resultCount = new HashMap<>();
        Map<String, Integer> dlqCount = new HashMap<>();
        List<Object[]> sortable = new ArrayList<>();
        int gets = 0;
        int correct = 0;
        int summaries = 0;
        int exactSummaries = 0;
        int policySummaries = 0;
        int unexpected = 0;
        int unchecked = 0;
        int policyChecked = 0;
        int policyExact = 0;
        int labeled = 0;
        int classified = 0;
        int rightClass = 0;
        int unclassified = 0;
        for (String l : labels) {
            labeled += l != null ? 1 : 0;
        }
        for (Committed c : results) {
            String value = new String(c.value(), StandardCharsets.UTF_8);
            JsonNode r = JSON.readTree(value);
            if ("summary".equals(r.path("control").asText())) {
                // written by the summary policy, not in answer to an event
                policySummaries++;
                String truth = sensors.truth(c.key(), r.path("id").asText(""));
                if (truth != null) {
                    policyChecked++;
                    policyExact += SensorReadings.sameSummary(r.path("text").asText(""), truth) ? 1 : 0;
                }
                sortable.add(new Object[] {c.key(), Integer.MAX_VALUE, value});
                continue;
            }
            String k = c.key() + "\u0000" + r.path("id").asText(null);
            Integer order = eventOrder.get(k);
            if (order == null && !r.hasNonNull("id")) {
                // a stream's results come in its events' order: the next of its events sent without an id
                var queue = withoutId.get(c.key());
                order = queue == null ? null : queue.poll();
                k = order == null ? k : c.key() + "\u0000" + events.get(order).id();
            }
            if (order == null) {
                unexpected++;
                continue;
            }
            resultCount.merge(k, 1, Integer::sum);
            sortable.add(new Object[] {c.key(), order, value});
            String expectText = events.get(order).expectText();
            if (expectText != null) {
                summaries++;
                // the generated text without the stop sequence that ended it
                String text = r.path("text").asText("").strip();
                if (text.equals(expectText.strip()) || text.replaceFirst("\\s*\\S+$", "").equals(expectText.strip())
                        && "stop".equals(r.path("stop").asText())) {
                    exactSummaries++;
                }
            }
            if (labels[order] != null) {
                if (r.path("label").isTextual()) {
                    classified++;
                    rightClass += labels[order].equals(r.get("label").asText()) ? 1 : 0;
                } else {
                    unclassified++;
                }
            }
            int expect = events.get(order).expect();
            JsonNode gen = r.path("generated");
            JsonNode top = r.path("top_k");
            if (expect >= 0 && !gen.isArray() && !top.isArray() && !r.has("error")) {
                // answered, but without an answer to check (top k turned off)
                unchecked++;
            } else if (expect >= 0) {
                gets++;
                // a generate control answers with its first generated token, any other event with its top 1
                int answer = gen.isArray() && !gen.isEmpty() ? gen.get(0).asInt(-1)
                        : top.isArray() && !top.isEmpty() ? top.get(0).path("token").asInt(-1) : -1;
                if (answer == expect) {
                    correct++;
                }
            }
        }
        for (Committed c : deadLetters) {
            dlqCount.merge(c.signature(), 1, Integer::sum);
        }
        int missing = 0;
        java.util.Set<String> streams = new java.util.HashSet<>();
        for (DemoEvent e : events) {
            if (e.stream() != null) {
                streams.add(e.stream());
            }
            String k = e.stream() + "\u0000" + e.id();
            if (resultCount.getOrDefault(k, 0) > 0) {
                resultCount.merge(k, -1, Integer::sum);
            } else if (dlqCount.getOrDefault(signature(e.stream(), e.value()), 0) > 0) {
                dlqCount.merge(signature(e.stream(), e.value()), -1, Integer::sum);
            } else {
                missing++;
            }
        }
        unexpected += resultCount.values().stream().mapToInt(Integer::intValue).sum();
        unexpected += dlqCount.values().stream().mapToInt(Integer::intValue).sum();
        sortable.sort(Comparator.<Object[], String>comparing(o -> (String) o[0]).thenComparing(o -> (Integer) o[1]));
        List<String> sorted = sortable.stream().map(o -> (String) o[2]).toList();
        return new Verdict(events.size(), results.size(), deadLetters.size(), streams.size(), gets, correct, missing,
                unexpected, sorted, summaries, exactSummaries, policySummaries, unchecked, policyChecked, policyExact,
                new Classification(labeled, classified, rightClass, unclassified));
    }

    /** The event's {@code "label"} when its value is a JSON object with a textual one; else null. */
    public static String label(DemoEvent e) {
        if (e.value() == null) {
            return null;
        }
        try {
            JsonNode v = JSON.readTree(e.value());
            return v != null && v.path("label").isTextual() ? v.get("label").asText() : null;
        } catch (IOException ex) {
            return null;
        }
    }

    /** Whether the event's value is a JSON object without an "id" (its result then has none). */
    private static boolean sentWithoutId(DemoEvent e) {
        if (e.value() == null || e.stream() == null) {
            return false;
        }
        try {
            JsonNode v = JSON.readTree(e.value());
            return v != null && v.isObject() && !v.hasNonNull("id");
        } catch (IOException ex) {
            return false;
        }
    }

    /** What a dead letter of this event is recognised by: the digests of its key and value. */
    private static String signature(String key, byte[] value) {
        return (key == null ? "-" : BoundedRecords.sha256(key.getBytes(StandardCharsets.UTF_8))) + "/"
                + (value == null ? "-" : BoundedRecords.sha256(value));
    }
}
