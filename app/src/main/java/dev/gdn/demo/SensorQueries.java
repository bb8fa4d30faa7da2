package dev.gdn.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Labeled streams for the classification demo on the summary model ({@code models/summary}): each stream
 * reports sensor readings ({@code "s3 v17"}: sensor 3 now reads 17) and now and then asks about sensor 5
 * ({@code "QRY s5"}), labeled by what the stream reported before: {@code high} (its latest reading of
 * sensor 5 is {@code >= 64}), {@code low}, or {@code none} (it never reported sensor 5). Only the stream's
 * own memory can answer: a query sent to a fresh stream ({@link #memoryless}) carries nothing to classify.
 *
 * <p>Per stream: 4 to 12 queries, each after 0 to 8 readings; a reading is of sensor 5 one time in ten
 * (else of one of the other 15), its value uniform in {@code 0..127}. About 38% of the queries are
 * {@code high}, 38% {@code low} and 23% {@code none}.
 */
public final class SensorQueries {
    /** The demo's classes, in the head's id order. */
    public static final List<String> CLASSES = List.of("high", "low", "none");
    static final int SENSOR = 5;
    static final int THRESHOLD = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    private SensorQueries() {
    }

    /**
     * {@code streams} streams as JSON lines ({@code {"stream", "id", "text"[, "label"]}}), stream after
     * stream; stream keys {@code <prefix>-<n>}.
     */
    public static List<String> streams(int streams, long seed, String prefix) {
        if (streams < 1) {
            throw new IllegalArgumentException("streams must be >= 1, got " + streams);
        }
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            String key = prefix + "-" + s;
            int latest = -1;
            int queries = 4 + r.nextInt(9);
            int n = 0;
            for (int q = 0; q < queries; q++) {
                int readings = r.nextInt(9);
                for (int k = 0; k < readings; k++) {
                    int sensor = r.nextInt(10) == 0 ? SENSOR : otherSensor(r);
                    int value = r.nextInt(128);
                    if (sensor == SENSOR) {
                        latest = value;
                    }
                    out.add(line(key, key + "/" + n++, "s" + sensor + " v" + value, null));
                }
                String label = latest < 0 ? "none" : latest >= THRESHOLD ? "high" : "low";
                out.add(line(key, key + "/q" + q, "QRY s" + SENSOR, label));
            }
        }
        return out;
    }

    /**
     * The memoryless baseline of {@code lines}: each labeled query alone on a fresh stream of its own
     * ({@code <stream>/q<k>}), the readings left out.
     */
    public static List<String> memoryless(List<String> lines) {
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            try {
                ObjectNode o = (ObjectNode) JSON.readTree(l);
                if (o.has("label")) {
                    out.add(line(o.get("id").asText(), o.get("id").asText(), o.get("text").asText(),
                            o.get("label").asText()));
                }
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("not a demo line: " + l, e);
            }
        }
        return out;
    }

    private static int otherSensor(SplittableRandom r) {
        int s = r.nextInt(15);
        return s >= SENSOR ? s + 1 : s;
    }

    private static String line(String stream, String id, String text, String label) {
        ObjectNode o = JSON.createObjectNode();
        o.put("stream", stream);
        o.put("id", id);
        o.put("text", text);
        if (label != null) {
            o.put("label", label);
        }
        return o.toString();
    }
}
