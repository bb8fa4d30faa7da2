package dev.gdn.head;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ResidentStreams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The features a classification head sees in the job: for each labeled event, the final normed hidden
 * state after its last token, on the memory its stream built from all its events before (resets
 * included), exactly what the operator hands {@link GatedDeltaNetModel#classify}. Streams run in groups
 * through the engine's resident slots, each stream's consecutive events advanced together while they stay
 * below the chunk length (64 tokens), as the operator advances a bundle's stretch: the token-by-token
 * path the job takes for such events.
 */
final class MemoryFeatures {
    private static final int CHUNK = 64;

    /** Which event a feature row belongs to. */
    record Row(String stream, String id, String label) {
    }

    /**
     * @param x      {@code [N, D]} row-major, one row per labeled event in stream order
     * @param rows   {@code [N]}
     * @param tokens tokens consumed in all
     */
    record Features(float[] x, int dim, List<Row> rows, long tokens) {
    }

    private MemoryFeatures() {
    }

    /** Runs {@code streams} through {@code model}, {@code group} streams at a time. */
    static Features compute(GatedDeltaNetModel model, List<LabeledStreams.Stream> streams, int group) {
        int d = model.config().hiddenSize();
        int total = 0;
        for (LabeledStreams.Stream s : streams) {
            for (LabeledStreams.Step st : s.steps()) {
                total += st.label() != null ? 1 : 0;
            }
        }
        float[] x = new float[total * d];
        List<Row> rows = new ArrayList<>(total);
        long tokens = 0;
        int capacity = Math.max(1, Math.min(group, streams.size()));
        try (ResidentStreams slots = model.residentStreams(capacity)) {
            for (int from = 0; from < streams.size(); from += capacity) {
                List<LabeledStreams.Stream> part = streams.subList(from, Math.min(streams.size(), from + capacity));
                tokens += runGroup(slots, part, d, x, rows);
            }
        }
        return new Features(x, d, List.copyOf(rows), tokens);
    }

    /** Runs one group to its end, appending its labeled rows to {@code x} and {@code rows}; returns tokens. */
    private static long runGroup(ResidentStreams slots, List<LabeledStreams.Stream> part, int d, float[] x,
            List<Row> rows) {
        int n = part.size();
        int[] next = new int[n];
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        slots.resetAll(all);
        // rows of a group arrive round by round; kept per stream so that the output is in stream order
        List<List<float[]>> found = new ArrayList<>(n);
        List<List<Row>> foundRows = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            found.add(new ArrayList<>());
            foundRows.add(new ArrayList<>());
        }
        long tokens = 0;
        while (true) {
            List<Integer> active = new ArrayList<>();
            List<int[]> stretchEnds = new ArrayList<>();
            int[] offsets = new int[n + 1];
            int[] flat = new int[0];
            int count = 0;
            for (int i = 0; i < n; i++) {
                List<LabeledStreams.Step> steps = part.get(i).steps();
                while (next[i] < steps.size() && steps.get(next[i]).reset()) {
                    slots.reset(i);
                    next[i]++;
                }
                int from = next[i];
                int length = 0;
                while (next[i] < steps.size() && !steps.get(next[i]).reset()
                        && (next[i] == from || length + steps.get(next[i]).tokens().length < CHUNK)) {
                    length += steps.get(next[i]).tokens().length;
                    next[i]++;
                }
                if (next[i] == from) {
                    continue;
                }
                active.add(i);
                stretchEnds.add(new int[] {from, next[i]});
                flat = Arrays.copyOf(flat, count + length);
                for (int k = from; k < next[i]; k++) {
                    int[] t = steps.get(k).tokens();
                    System.arraycopy(t, 0, flat, count, t.length);
                    count += t.length;
                }
                offsets[active.size()] = count;
            }
            if (active.isEmpty()) {
                break;
            }
            int[] slotIds = active.stream().mapToInt(Integer::intValue).toArray();
            float[] hidden = slots.advance(slotIds, Arrays.copyOf(offsets, active.size() + 1), flat);
            tokens += count;
            for (int a = 0; a < active.size(); a++) {
                int i = active.get(a);
                List<LabeledStreams.Step> steps = part.get(i).steps();
                int row = offsets[a];
                for (int k = stretchEnds.get(a)[0]; k < stretchEnds.get(a)[1]; k++) {
                    row += steps.get(k).tokens().length;
                    if (steps.get(k).label() != null) {
                        found.get(i).add(Arrays.copyOfRange(hidden, (row - 1) * d, row * d));
                        foundRows.get(i).add(new Row(part.get(i).key(), steps.get(k).id(), steps.get(k).label()));
                    }
                }
            }
        }
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < found.get(i).size(); k++) {
                System.arraycopy(found.get(i).get(k), 0, x, rows.size() * d, d);
                rows.add(foundRows.get(i).get(k));
            }
        }
        return tokens;
    }
}
