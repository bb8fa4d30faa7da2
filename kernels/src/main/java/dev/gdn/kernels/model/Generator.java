package dev.gdn.kernels.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Generation from forked memories: each request's prompt and the tokens it generates run on a copy of
 * its stream's memory, so asking never changes what the stream knows. The forks live in resident slots
 * of the generator's own ({@link ResidentStreams}: on the GPU, device memory, forked from the caller's
 * slots on the device), and the requests of one call run batched: one pass for all their prompts, then
 * one pass per generated token for all that are still going (on the GPU engine, one-token passes replay
 * CUDA graphs). Greedy decoding and top-k sampling (k up to {@link #DEVICE_TOP_K}) pick from the
 * candidates the engine scores where the hidden states are, so only those come back per token; other
 * sampling takes the full logits. Not thread-safe.
 */
public final class Generator implements AutoCloseable {
    /** Largest top-k the engine picks candidates for (the GPU's scoring limit). */
    public static final int DEVICE_TOP_K = 64;

    private final GatedDeltaNetModel model;
    /** The forks' slots: grown to the largest call so far, reused between calls. */
    private ResidentStreams work;

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
     * One generation from a stream resident in a slot.
     *
     * @param slot     the stream's slot in the set given to {@link #generate(ResidentStreams, List)} (left
     *                 unchanged)
     * @param prompt   as in {@link Request}
     * @param settings how tokens are picked
     */
    public record SlotRequest(int slot, int[] prompt, GenerationSettings settings) {
    }

    /**
     * @param ids  the generated tokens, stop sequence included
     * @param stop why it ended: {@code "stop"} (a stop sequence) or {@code "max_tokens"}
     */
    public record Result(int[] ids, String stop) {
    }

    /**
     * Runs every request on a copy of its memory; result i belongs to request i.
     *
     * @throws IllegalArgumentException naming the request when its prompt is empty and its memory has no
     *     last hidden state, or a prompt token is outside the vocabulary
     */
    public List<Result> generate(List<Request> requests) {
        int n = requests.size();
        StreamMemory[] forks = new StreamMemory[n];
        List<int[]> prompts = new ArrayList<>(n);
        List<GenerationSettings> settings = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Request r = requests.get(i);
            checkPrompt(i, r.prompt(), r.memory().lastHidden() != null);
            forks[i] = r.memory();
            prompts.add(r.prompt());
            settings.add(r.settings());
        }
        if (n == 0) {
            return List.of();
        }
        ResidentStreams w = work(n);
        w.loadAll(java.util.stream.IntStream.range(0, n).toArray(), forks);
        return run(w, prompts, settings);
    }

    /**
     * Runs every request on a fork of its slot of {@code from} (a resident set of this generator's model),
     * which stays as it is; result i belongs to request i.
     *
     * @throws IllegalArgumentException as {@link #generate(List)}
     */
    public List<Result> generate(ResidentStreams from, List<SlotRequest> requests) {
        int n = requests.size();
        int[] slots = new int[n];
        List<int[]> prompts = new ArrayList<>(n);
        List<GenerationSettings> settings = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            SlotRequest r = requests.get(i);
            checkPrompt(i, r.prompt(), from.hasLastHidden(r.slot()));
            slots[i] = r.slot();
            prompts.add(r.prompt());
            settings.add(r.settings());
        }
        if (n == 0) {
            return List.of();
        }
        ResidentStreams w = work(n);
        from.forkInto(slots, w);
        return run(w, prompts, settings);
    }

    private void checkPrompt(int i, int[] prompt, boolean hasLast) {
        int vocab = model.config().vocabSize();
        for (int t : prompt) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("generation " + i + ": prompt token " + t + " is outside the vocabulary [0, "
                        + vocab + ")");
            }
        }
        if (prompt.length == 0 && !hasLast) {
            throw new IllegalArgumentException("generation " + i + ": the prompt is empty and the stream has seen "
                    + "no tokens, so nothing predicts a first token: give a prompt");
        }
    }

    /** The work slots, at least {@code n} of them. */
    private ResidentStreams work(int n) {
        if (work == null || work.capacity() < n) {
            if (work != null) {
                work.close();
            }
            work = model.residentStreams(n);
        }
        return work;
    }

    /** The generations on work slots {@code 0 .. n-1}, which hold the forks. */
    private List<Result> run(ResidentStreams w, List<int[]> prompts, List<GenerationSettings> settings) {
        int n = prompts.size();
        Random[] rng = new Random[n];
        int k = 1;
        boolean fullLogits = false;
        for (int i = 0; i < n; i++) {
            GenerationSettings s = settings.get(i);
            rng[i] = new Random(s.seed());
            if (s.temperature() != 0) {
                if (s.topK() > 0 && s.topK() <= DEVICE_TOP_K) {
                    k = Math.max(k, s.topK());
                } else {
                    fullLogits = true;
                }
            }
        }
        // the prompt pass: streams without a prompt ride along to have their last hidden state scored
        int[] slots = java.util.stream.IntStream.range(0, n).toArray();
        int[] offsets = new int[n + 1];
        for (int i = 0; i < n; i++) {
            offsets[i + 1] = offsets[i] + prompts.get(i).length;
        }
        int[] tokens = new int[offsets[n]];
        int[] sources = new int[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(prompts.get(i), 0, tokens, offsets[i], prompts.get(i).length);
            sources[i] = prompts.get(i).length > 0 ? offsets[i + 1] - 1 : -i - 1;
        }
        Candidates[] next = score(w, slots, offsets, tokens, sources, k, fullLogits);
        int[][] out = new int[n][];
        int[] count = new int[n];
        String[] stop = new String[n];
        for (int i = 0; i < n; i++) {
            out[i] = new int[settings.get(i).maxTokens()];
        }
        while (true) {
            int[] stepSlots = new int[n];
            int[] stepTokens = new int[n];
            int m = 0;
            for (int i = 0; i < n; i++) {
                if (stop[i] != null) {
                    continue;
                }
                GenerationSettings s = settings.get(i);
                int token = next[i].pick(s, rng[i]);
                out[i][count[i]++] = token;
                if (endsWithStop(out[i], count[i], s.stop())) {
                    stop[i] = "stop";
                } else if (count[i] == s.maxTokens()) {
                    stop[i] = "max_tokens";
                } else {
                    stepSlots[m] = i;
                    stepTokens[m++] = token;
                }
            }
            if (m == 0) {
                break;
            }
            int[] sl = Arrays.copyOf(stepSlots, m);
            int[] off = java.util.stream.IntStream.rangeClosed(0, m).toArray();
            Candidates[] got = score(w, sl, off, Arrays.copyOf(stepTokens, m), Arrays.copyOf(off, m), k, fullLogits);
            for (int j = 0; j < m; j++) {
                next[sl[j]] = got[j];
            }
        }
        List<Result> results = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            results.add(new Result(Arrays.copyOf(out[i], count[i]), stop[i]));
        }
        return results;
    }

    /**
     * Advances {@code slots} by their tokens and returns, for each source row (as in
     * {@link ResidentStreams.ScoreRows}), the candidates the picks need: the top {@code k} by the engine,
     * and with {@code fullLogits} the whole row of logits as well.
     */
    private Candidates[] score(ResidentStreams w, int[] slots, int[] offsets, int[] tokens, int[] sources, int k,
            boolean fullLogits) {
        int r = sources.length;
        boolean[] want = new boolean[r];
        Arrays.fill(want, true);
        int[] targets = new int[r];
        Arrays.fill(targets, -1);
        float[][] before = null;
        if (fullLogits) {
            // the last hidden states the rows without tokens read are gone once the advance has run
            before = new float[r][];
            for (int i = 0; i < r; i++) {
                if (sources[i] < 0) {
                    before[i] = w.store(slots[-sources[i] - 1]).lastHidden();
                }
            }
        }
        ResidentStreams.Scored sc = w.advanceScored(slots, offsets, tokens,
                new ResidentStreams.ScoreRows(sources, targets, want, k), fullLogits);
        RowScores rs = sc.scores();
        int d = model.config().hiddenSize();
        Candidates[] out = new Candidates[r];
        for (int i = 0; i < r; i++) {
            float[] logits = null;
            if (fullLogits) {
                logits = sources[i] >= 0 ? model.logits(sc.hidden(), sources[i], 1) : model.logits(before[i], 0, 1);
            }
            out[i] = new Candidates(Arrays.copyOfRange(rs.topIds(), i * k, (i + 1) * k),
                    Arrays.copyOfRange(rs.topLogits(), i * k, (i + 1) * k), logits);
        }
        return out;
    }

    /**
     * What a row's pick reads: its top-k token ids and logits (best first, ties by lower id) and, when some
     * request samples without a small top-k, its full logits.
     */
    private record Candidates(int[] topIds, float[] topLogits, float[] logits) {
        int pick(GenerationSettings s, Random rng) {
            if (s.temperature() == 0) {
                return topIds[0];
            }
            if (s.topK() > 0 && s.topK() <= topIds.length) {
                return sample(Arrays.copyOf(topIds, s.topK()), Arrays.copyOf(topLogits, s.topK()), s, rng);
            }
            return Generator.pick(logits, s, rng);
        }
    }

    private static boolean endsWithStop(int[] ids, int count, List<int[]> stops) {
        for (int[] s : stops) {
            if (s.length <= count && Arrays.equals(ids, count - s.length, count, s, 0, s.length)) {
                return true;
            }
        }
        return false;
    }

    /** The next token from a full row of logits: greedy at temperature 0, else sampled after top-k and top-p filtering. */
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
        float[] candLogits = new float[cand.length];
        for (int i = 0; i < cand.length; i++) {
            candLogits[i] = logits[cand[i]];
        }
        return sample(cand, candLogits, s, rng);
    }

    /**
     * Samples among candidates {@code cand} (in their order) with logits {@code candLogits}: softmax at the
     * temperature, then the top-p cut in that order.
     */
    static int sample(int[] cand, float[] candLogits, GenerationSettings s, Random rng) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : candLogits) {
            max = Math.max(max, l);
        }
        int keep = cand.length;
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp((candLogits[i] - max) / s.temperature());
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

    /** Releases the work slots (device memory on the GPU). */
    @Override
    public void close() {
        if (work != null) {
            work.close();
            work = null;
        }
    }
}
