package dev.gdn.kernels.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Generation from forked memories: each request's prompt and the tokens it generates run on a copy of
 * its stream's memory, so asking never changes what the stream knows. The requests of one call run
 * batched: one forward pass for all their prompts, then one pass per generated token for all that are
 * still going (on the GPU engine, one-token passes replay CUDA graphs).
 */
public final class Generator {
    private final GatedDeltaNetModel model;

    public Generator(GatedDeltaNetModel model) {
        this.model = model;
    }

    /**
     * One generation.
     *
     * @param memory   the stream's memory (left unchanged: the generation runs on a copy)
     * @param prompt   token ids run before generating; may be empty when the memory has a last hidden
     *                 state (its logits pick the first token)
     * @param settings how tokens are picked
     */
    public record Request(StreamMemory memory, int[] prompt, GenerationSettings settings) {
    }

    /**
     * @param ids  the generated tokens, stop sequence included
     * @param stop why it ended: {@code "stop"} (a stop sequence) or {@code "max_tokens"}
     */
    public record Result(int[] ids, String stop) {
    }

    /**
     * Runs every request; result i belongs to request i.
     *
     * @throws IllegalArgumentException naming the request when its prompt is empty and its memory has no
     *     last hidden state, or a prompt token is outside the vocabulary
     */
    public List<Result> generate(List<Request> requests) {
        int n = requests.size();
        StreamMemory[] forks = new StreamMemory[n];
        Random[] rng = new Random[n];
        List<StreamInput> prompted = new ArrayList<>();
        List<Integer> promptedIndex = new ArrayList<>();
        float[][] logits = new float[n][];
        for (int i = 0; i < n; i++) {
            Request r = requests.get(i);
            forks[i] = r.memory().copy();
            rng[i] = new Random(r.settings().seed());
            if (r.prompt().length > 0) {
                prompted.add(new StreamInput(forks[i], r.prompt().clone()));
                promptedIndex.add(i);
            } else if (r.memory().lastHidden() != null) {
                logits[i] = model.logits(r.memory().lastHidden(), 0, 1);
            } else {
                throw new IllegalArgumentException("generation " + i + ": the prompt is empty and the stream has seen "
                        + "no tokens, so nothing predicts a first token: give a prompt");
            }
        }
        if (!prompted.isEmpty()) {
            // only each prompt's last row picks a token: the LM head runs on those rows alone
            ForwardResult fr = model.forward(prompted, false);
            for (int j = 0; j < prompted.size(); j++) {
                logits[promptedIndex.get(j)] = model.logits(fr.hidden(), fr.offsets()[j + 1] - 1, 1);
            }
        }
        int[][] out = new int[n][];
        int[] count = new int[n];
        String[] stop = new String[n];
        for (int i = 0; i < n; i++) {
            out[i] = new int[requests.get(i).settings().maxTokens()];
        }
        while (true) {
            List<StreamInput> step = new ArrayList<>();
            List<Integer> stepIndex = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (stop[i] != null) {
                    continue;
                }
                GenerationSettings s = requests.get(i).settings();
                int token = pick(logits[i], s, rng[i]);
                out[i][count[i]++] = token;
                if (endsWithStop(out[i], count[i], s.stop())) {
                    stop[i] = "stop";
                } else if (count[i] == s.maxTokens()) {
                    stop[i] = "max_tokens";
                } else {
                    step.add(new StreamInput(forks[i], new int[] {token}));
                    stepIndex.add(i);
                }
            }
            if (step.isEmpty()) {
                break;
            }
            ForwardResult fr = model.forward(step);
            for (int j = 0; j < step.size(); j++) {
                logits[stepIndex.get(j)] = fr.logitsOf(j);
            }
        }
        List<Result> results = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            results.add(new Result(Arrays.copyOf(out[i], count[i]), stop[i]));
        }
        return results;
    }

    private static boolean endsWithStop(int[] ids, int count, List<int[]> stops) {
        for (int[] s : stops) {
            if (s.length <= count && Arrays.equals(ids, count - s.length, count, s, 0, s.length)) {
                return true;
            }
        }
        return false;
    }

    /** The next token: greedy at temperature 0, else sampled after top-k and top-p filtering. */
    static int pick(float[] logits, GenerationSettings s, Random rng) {
        int v = logits.length;
        if (s.temperature() == 0) {
            int best = 0;
            for (int i = 1; i < v; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
        // the candidates: the k most likely (by descending logit, ties by id: a fixed order, so a seed always
        // gives the same token), all of them in descending order for top-p, or simply all in id order
        int[] cand;
        if (s.topK() > 0 && s.topK() < v) {
            cand = topK(logits, s.topK());
        } else if (s.topP() < 1) {
            cand = topK(logits, v);
        } else {
            cand = new int[v];
            for (int i = 0; i < v; i++) {
                cand[i] = i;
            }
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int c : cand) {
            max = Math.max(max, logits[c]);
        }
        int keep = cand.length;
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp((logits[cand[i]] - max) / s.temperature());
            sum += p[i];
        }
        if (s.topP() < 1) {
            double acc = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++) {
                acc += p[i] / sum;
                if (acc >= s.topP()) {
                    cut = i + 1;
                    break;
                }
            }
            keep = cut;
            sum = 0;
            for (int i = 0; i < keep; i++) {
                sum += p[i];
            }
        }
        double u = rng.nextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += p[i];
            if (u < acc) {
                return cand[i];
            }
        }
        return cand[keep - 1];
    }

    /**
     * The {@code k} token ids of the largest logits, by descending logit and ascending id among equals,
     * through a bounded heap of primitive keys ({@code O(V log k)}, no boxing).
     */
    static int[] topK(float[] logits, int k) {
        long[] heap = new long[k]; // a max-heap of keys: the worst kept candidate on top
        int n = 0;
        for (int id = 0; id < logits.length; id++) {
            long key = key(logits[id], id);
            if (n < k) {
                heap[n] = key;
                int i = n++;
                while (i > 0 && heap[(i - 1) / 2] < heap[i]) {
                    long t = heap[i];
                    heap[i] = heap[(i - 1) / 2];
                    heap[(i - 1) / 2] = t;
                    i = (i - 1) / 2;
                }
            } else if (key < heap[0]) {
                heap[0] = key;
                int i = 0;
                while (true) {
                    int l = 2 * i + 1;
                    int r = l + 1;
                    int big = i;
                    if (l < n && heap[l] > heap[big]) {
                        big = l;
                    }
                    if (r < n && heap[r] > heap[big]) {
                        big = r;
                    }
                    if (big == i) {
                        break;
                    }
                    long t = heap[i];
                    heap[i] = heap[big];
                    heap[big] = t;
                    i = big;
                }
            }
        }
        long[] sorted = Arrays.copyOf(heap, n);
        Arrays.sort(sorted);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (int) sorted[i];
        }
        return ids;
    }

    /** A key that orders by descending logit, then ascending id (the id in the low 32 bits). */
    private static long key(float logit, int id) {
        int b = Float.floatToIntBits(-logit);
        b ^= (b >> 31) & 0x7fffffff; // the float's order as a signed int
        return ((long) b << 32) | id;
    }
}
