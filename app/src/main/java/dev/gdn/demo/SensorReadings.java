package dev.gdn.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The truth of the summary demo ({@code models/summary}): per stream, every sensor's latest reading after
 * each of its events, by the tokens the stream has consumed then (one token a word: the model's tokenizer
 * is word-level). A summary the summary policy wrote, {@code summary@T}, is exact when it names each
 * sensor's latest reading after the event that took the stream to T tokens. Only streams whose events are
 * all readings ({@code "text": "s3 v17 ..."}) or generate requests (a fork: no tokens) have a truth.
 */
public final class SensorReadings {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern READING = Pattern.compile("s(\\d+) v(\\d+)");
    static final int SENSORS = 16;
    static final int VALUES = 128;

    /** Per stream: tokens consumed after an event -> the summary that is true then. */
    private final Map<String, Map<Long, String>> truth = new HashMap<>();

    public SensorReadings(List<DemoEvent> events) {
        Map<String, String[]> latest = new HashMap<>();
        Map<String, Long> tokens = new HashMap<>();
        Set<String> other = new HashSet<>();
        for (DemoEvent e : events) {
            if (e.stream() == null || e.value() == null || other.contains(e.stream())) {
                continue;
            }
            JsonNode v;
            try {
                v = JSON.readTree(e.value());
            } catch (IOException ex) {
                continue; // a dead letter: the stream never sees it
            }
            if (v == null || !v.isObject() || "generate".equals(v.path("control").asText())) {
                continue;
            }
            String[] words = v.path("text").isTextual() ? v.get("text").asText().trim().split("\\s+") : null;
            if (words == null || words.length % 2 != 0 || v.has("control") || v.has("tokens")) {
                other.add(e.stream());
                continue;
            }
            String[] state = latest.computeIfAbsent(e.stream(), k -> new String[SENSORS]);
            for (int i = 0; i < words.length; i += 2) {
                Matcher m = READING.matcher(words[i] + " " + words[i + 1]);
                if (!m.matches() || Integer.parseInt(m.group(1)) >= SENSORS || Integer.parseInt(m.group(2)) >= VALUES) {
                    other.add(e.stream());
                    break;
                }
                state[Integer.parseInt(m.group(1))] = words[i + 1];
            }
            long after = tokens.merge(e.stream(), (long) words.length, Long::sum);
            truth.computeIfAbsent(e.stream(), k -> new HashMap<>()).put(after, summary(state));
        }
        other.forEach(truth::remove);
    }

    /** The summary true for {@code stream} at a policy summary's id {@code summary@T}; null when unknown. */
    public String truth(String stream, String id) {
        Map<Long, String> t = truth.get(stream);
        if (t == null || !id.matches("summary@\\d{1,18}")) {
            return null;
        }
        return t.get(Long.parseLong(id.substring("summary@".length())));
    }

    /** Whether a generated summary text says {@code truth} (its stop word, END, left out). */
    public static boolean sameSummary(String text, String truth) {
        return text.strip().replaceFirst("\\s*\\bEND$", "").equals(truth);
    }

    private static String summary(String[] state) {
        StringBuilder b = new StringBuilder();
        for (int s = 0; s < state.length; s++) {
            b.append(s == 0 ? "" : " ").append('s').append(s).append(' ').append(state[s] == null ? "NONE" : state[s]);
        }
        return b.toString();
    }
}
