package dev.gdn.demo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A seeded generator of the recall task the demo model was trained on (see models/recall/README.md):
 * each stream owns a random subset of 8..48 keys; every step is a set ({@code [1, key, value]}) with
 * probability 1/2 (always while nothing is stored), otherwise a get ({@code [2, key]}, expecting the
 * key's latest value) followed by its reveal ({@code [value]}). Streams take turns at random.
 */
public final class RecallTask {
    public static final int SET = 1;
    public static final int GET = 2;
    public static final int FIRST_KEY = 16;
    public static final int KEYS = 128;
    public static final int FIRST_VALUE = 256;
    public static final int VALUES = 128;

    private RecallTask() {
    }

    /** {@code events} events over {@code streams} streams, {@code bad} of them malformed, from {@code seed}. */
    public static List<DemoEvent> generate(int events, int streams, int bad, long seed) {
        if (events < 0 || streams < 1 || bad < 0 || bad > events) {
            throw new IllegalArgumentException("need events >= 0, streams >= 1, 0 <= bad-events <= events; got events="
                    + events + " streams=" + streams + " bad-events=" + bad);
        }
        Random r = new Random(seed);
        List<StreamState> state = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            state.add(new StreamState("stream-" + s, r));
        }
        int good = events - bad;
        List<DemoEvent> out = new ArrayList<>(events);
        while (out.size() < good) {
            StreamState s = state.get(r.nextInt(streams));
            s.step(r, out, good - out.size());
        }
        // malformed events at random places; they touch no memory, so the good ones keep their meaning
        for (int i = 0; i < bad; i++) {
            out.add(r.nextInt(out.size() + 1), BadEvents.make(i, r, state.get(r.nextInt(streams)).name));
        }
        return out;
    }

    private static final class StreamState {
        final String name;
        final int[] keys;
        final Map<Integer, Integer> stored = new LinkedHashMap<>();
        int step;

        StreamState(String name, Random r) {
            this.name = name;
            int n = 8 + r.nextInt(41);
            List<Integer> all = new ArrayList<>();
            for (int k = 0; k < KEYS; k++) {
                all.add(FIRST_KEY + k);
            }
            java.util.Collections.shuffle(all, r);
            keys = all.subList(0, n).stream().mapToInt(Integer::intValue).toArray();
        }

        void step(Random r, List<DemoEvent> out, int room) {
            if (stored.isEmpty() || r.nextBoolean() || room < 2) {
                int key = keys[r.nextInt(keys.length)];
                int value = FIRST_VALUE + r.nextInt(VALUES);
                stored.put(key, value);
                out.add(event(name, step + "s", new int[] {SET, key, value}, -1));
            } else {
                List<Integer> have = new ArrayList<>(stored.keySet());
                int key = have.get(r.nextInt(have.size()));
                int value = stored.get(key);
                out.add(event(name, step + "g", new int[] {GET, key}, value));
                out.add(event(name, step + "r", new int[] {value}, -1));
            }
            step++;
        }
    }

    static DemoEvent event(String stream, String step, int[] tokens, int expect) {
        String id = stream + "/" + step;
        StringBuilder sb = new StringBuilder("{\"id\":\"").append(id).append("\",\"tokens\":[");
        for (int i = 0; i < tokens.length; i++) {
            sb.append(i == 0 ? "" : ",").append(tokens[i]);
        }
        sb.append("]}");
        return new DemoEvent(stream, id, sb.toString().getBytes(StandardCharsets.UTF_8), expect);
    }
}
