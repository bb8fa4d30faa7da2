package dev.gdn.operator;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Event workloads for the operator's and the core's tests, Flink-free (the GPU runs carry no Flink test jars). */
final class Workloads {
    static final int STREAMS = 50;

    private Workloads() {
    }

    /** Events over 50 streams with a skew (a few hot streams), multi-token events and some resets. */
    static List<StreamEvent> skewed(long seed, int n) {
        Random r = new Random(seed);
        List<StreamEvent> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int s = r.nextInt(4) == 0 ? r.nextInt(STREAMS) : r.nextInt(5);
            if (r.nextInt(40) == 0) {
                events.add(new StreamEvent("s" + s, "e" + i, new int[0], true));
                continue;
            }
            int[] t = new int[1 + r.nextInt(4)];
            for (int j = 0; j < t.length; j++) {
                t[j] = r.nextInt(384);
            }
            events.add(new StreamEvent("s" + s, "e" + i, t, false));
        }
        return events;
    }
}
