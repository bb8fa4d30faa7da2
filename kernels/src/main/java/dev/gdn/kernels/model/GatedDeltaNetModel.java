package dev.gdn.kernels.model;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cpu.Scratch;
import dev.gdn.kernels.io.WeightSource;
import dev.gdn.kernels.model.ModelWeights.BlockWeights;
import dev.gdn.kernels.ops.Linear;
import dev.gdn.kernels.ops.Norms;
import java.nio.file.Path;
import java.util.List;

/**
 * A Gated DeltaNet language model (optionally hybrid with sliding-window attention) that advances a
 * batch of stream memories.
 *
 * <p>One code path serves one stream or thousands: every stream brings its memory and 1..n new
 * tokens; the forward pass returns logits (and final hidden states) for every new token and leaves each
 * memory advanced past its tokens. A stream's results are bitwise the same whichever other streams
 * share its batch: every per-row and per-stream computation is independent of the others.
 */
public final class GatedDeltaNetModel {
    private static final Scratch.Slot RESIDUAL = Scratch.slot("model.residual");
    private static final Scratch.Slot MLP_GATE = Scratch.slot("mlp.gate");
    private static final Scratch.Slot MLP_UP = Scratch.slot("mlp.up");
    private static final Scratch.Slot MLP_OUT = Scratch.slot("mlp.out");

    private final ModelConfig config;
    private final ModelWeights weights;
    private final CpuKernels cpu;
    private final TokenMixer[] mixers;
    private final ModelFingerprint fingerprint;
    private final ForwardEngine engine;

    public GatedDeltaNetModel(ModelConfig config, ModelWeights weights, CpuKernels cpu) {
        this(config, weights, cpu, ModelFingerprint.compute(config, weights), null);
    }

    private GatedDeltaNetModel(ModelConfig config, ModelWeights weights, CpuKernels cpu, ModelFingerprint fingerprint,
            ForwardEngine engine) {
        this.config = config;
        this.weights = weights;
        this.cpu = cpu;
        this.fingerprint = fingerprint;
        this.engine = engine;
        this.mixers = new TokenMixer[config.numLayers()];
        for (int i = 0; i < mixers.length; i++) {
            BlockWeights b = weights.layers().get(i);
            mixers[i] = b.mixer().kind().cpuMixer(config, b.mixer());
        }
    }

    /**
     * Loads {@code dir/config.json} and the weights next to it.
     *
     * @throws IllegalStateException before reading any weight, when their fp32 copy cannot fit in the
     *     heap this JVM may still take (saying how much is needed)
     */
    public static GatedDeltaNetModel load(Path dir, CpuKernels cpu) {
        ModelConfig config = ModelConfig.load(dir);
        try (WeightSource src = WeightSource.open(dir)) {
            checkHeap(dir, src);
            return new GatedDeltaNetModel(config, ModelWeights.load(src, config), cpu);
        }
    }

    /** Refuses weights whose fp32 form exceeds the heap still available, instead of dying of OutOfMemoryError. */
    private static void checkHeap(Path dir, WeightSource src) {
        long floats = 0;
        for (String n : src.names()) {
            floats = Math.addExact(floats, src.info(n).elementCount());
        }
        long need = Math.multiplyExact(floats, 4L);
        Runtime rt = Runtime.getRuntime();
        long available = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (need > available) {
            throw new IllegalStateException(String.format(java.util.Locale.ROOT, "%s: the weights need %,d MiB of heap "
                    + "as fp32 (%,d parameters), this JVM can take %,d MiB more (max heap %,d MiB): give it more, e.g. "
                    + "GDN_JAVA_OPTS=-Xmx%dg for ./gdn, or taskmanager.memory.task.heap.size on a cluster", dir,
                    need >> 20, floats, available >> 20, rt.maxMemory() >> 20,
                    Math.max(2, (rt.maxMemory() + need) / (1L << 30) + 2)));
        }
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    public CpuKernels kernels() {
        return cpu;
    }

    /** The same weights computed by other kernels. */
    public GatedDeltaNetModel withKernels(CpuKernels other) {
        return new GatedDeltaNetModel(config, weights, other, fingerprint, engine);
    }

    /**
     * The same weights with the forward pass and LM head computed by {@code e} (built for these
     * weights), or by the CPU kernels again when {@code e} is null.
     */
    public GatedDeltaNetModel withEngine(ForwardEngine e) {
        return new GatedDeltaNetModel(config, weights, cpu, fingerprint, e);
    }

    /** The engine computing forward passes, if not the CPU kernels. */
    public java.util.Optional<ForwardEngine> engine() {
        return java.util.Optional.ofNullable(engine);
    }

    /** Where forward passes run, for logs: the engine's name or the CPU kernels'. */
    public String backendName() {
        return engine != null ? engine.name() : cpu.name();
    }

    /** Hash of the config and weights, computed once at load; every memory this model makes carries it. */
    public ModelFingerprint fingerprint() {
        return fingerprint;
    }

    /**
     * Slots for stream memories that stay with the computing side between calls: the engine's own
     * resident form where it has one (device memory on the GPU), else host copies advanced by
     * {@link #forward}.
     *
     * @param capacity slots, &gt;= 1
     */
    public ResidentStreams residentStreams(int capacity) {
        if (engine != null) {
            ResidentStreams r = engine.residentStreams(this, capacity);
            if (r != null) {
                return r;
            }
        }
        return new HostResidentStreams(this, capacity);
    }

    /** The memory of a stream that has seen nothing. */
    public StreamMemory newMemory() {
        LayerMemory[] layers = new LayerMemory[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = mixers[i].newMemory();
        }
        return new StreamMemory(layers, 0, fingerprint);
    }

    /** Runs the batch and returns logits for every token. See {@link #forward(List, boolean)}. */
    public ForwardResult forward(List<StreamInput> batch) {
        return forward(batch, true);
    }

    /**
     * Advances every stream of the batch past its tokens.
     *
     * @param batch  streams with their memories and new tokens; memories are updated in place
     * @param logits whether to compute the LM head ({@code [rows, vocab]}); hidden states always
     * @throws IllegalArgumentException naming the stream when a token is out of range or a memory does
     *         not fit this model
     */
    public ForwardResult forward(List<StreamInput> batch, boolean logits) {
        int[] offsets = new int[batch.size() + 1];
        for (int s = 0; s < batch.size(); s++) {
            StreamInput in = batch.get(s);
            checkInput(s, in);
            offsets[s + 1] = offsets[s] + in.tokens().length;
        }
        if (engine != null) {
            ForwardResult r = engine.forward(batch, offsets, logits);
            for (StreamInput in : batch) {
                in.memory().advance(in.tokens().length);
            }
            return r;
        }
        int rows = offsets[batch.size()];
        int d = config.hiddenSize();
        var m = cpu.math();
        var par = cpu.parallel();

        Scratch scratch = Scratch.ofThread();
        float[] h = scratch.get(RESIDUAL, rows * d);
        for (int s = 0; s < batch.size(); s++) {
            int[] toks = batch.get(s).tokens();
            for (int t = 0; t < toks.length; t++) {
                System.arraycopy(weights.embeddings(), toks[t] * d, h, (offsets[s] + t) * d, d);
            }
        }
        float[] normed = new float[rows * d];
        for (int l = 0; l < config.numLayers(); l++) {
            BlockWeights bw = weights.layers().get(l);
            rmsNormRows(h, bw.attnNorm(), normed, rows);
            float[] mixed = mixers[l].forward(cpu, normed, offsets, batch, l);
            addInPlace(h, mixed, rows * d);
            rmsNormRows(h, bw.mlpNorm(), normed, rows);
            addInPlace(h, mlp(bw.mlp(), normed, rows, scratch), rows * d);
        }
        for (StreamInput in : batch) {
            in.memory().advance(in.tokens().length);
        }
        rmsNormRows(h, weights.finalNorm(), normed, rows);
        float[] out = logits ? Linear.apply(par, m, normed, rows, d, weights.lmHead(), config.vocabSize(), null) : null;
        return new ForwardResult(offsets, normed, out, d, config.vocabSize());
    }

    /**
     * The LM head on some rows of final hidden states.
     *
     * @param hidden {@code [rows, D]} (as in {@link ForwardResult#hidden()})
     * @param from   first row
     * @param rows   number of rows
     * @return {@code [rows, vocab]}
     */
    public float[] logits(float[] hidden, int from, int rows) {
        int d = config.hiddenSize();
        float[] x = java.util.Arrays.copyOfRange(hidden, from * d, (from + rows) * d);
        if (engine != null) {
            return engine.logits(x, rows);
        }
        return Linear.apply(cpu.parallel(), cpu.math(), x, rows, d, weights.lmHead(), config.vocabSize(), null);
    }

    /**
     * Scores rows of final hidden states: per row the log-sum-exp of its logits and the logit of its
     * target token, and for the rows asked for the k largest logits. On an engine that can, the logits
     * never leave the device; else they are computed in blocks and scored on the CPU.
     *
     * @param hidden  {@code [*, D]}; rows {@code from .. from + rows} are scored
     * @param targets {@code [rows]} target token ids, or -1 for none
     * @param want    {@code [rows]} whether the row's top k are wanted
     * @param k       top entries per wanted row, {@code 0 <= k <= vocab}
     */
    public RowScores scoreRows(float[] hidden, int from, int rows, int[] targets, boolean[] want, int k) {
        if (k < 0 || k > config.vocabSize()) {
            throw new IllegalArgumentException("k must be in [0, " + config.vocabSize() + "], got " + k);
        }
        if (engine != null) {
            RowScores r = engine.scoreRows(hidden, from, rows, targets, want, k);
            if (r != null) {
                return r;
            }
        }
        int vocab = config.vocabSize();
        RowScores out = new RowScores(new double[rows], new float[rows], new int[rows * k], new float[rows * k], k);
        int block = Math.max(64, (1 << 24) / vocab);
        for (int b = 0; b < rows; b += block) {
            int n = Math.min(block, rows - b);
            float[] logits = logits(hidden, from + b, n);
            out.fill(logits, 0, n, vocab, targets, want, b);
        }
        return out;
    }

    /**
     * Class probabilities from the classification head ({@code score.weight}, and {@code score.bias} when
     * the checkpoint has one) on one final hidden state.
     *
     * @param hidden {@code [D]}
     * @return {@code [labels]}, summing to 1
     * @throws IllegalStateException when the checkpoint has no classification head
     */
    public float[] classify(float[] hidden) {
        float[] w = weights.score();
        if (w == null) {
            throw new IllegalStateException("this model has no classification head (score.weight)");
        }
        int n = config.labels().size();
        float[] logits = new float[n];
        cpu.math().matmulTransposed(hidden, 0, 1, config.hiddenSize(), w, 0, n, logits, 0, n);
        float[] bias = weights.scoreBias();
        if (bias != null) {
            for (int i = 0; i < n; i++) {
                logits[i] += bias[i];
            }
        }
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        for (int i = 0; i < n; i++) {
            logits[i] = (float) (Math.exp(logits[i] - max) / sum);
        }
        return logits;
    }


    private float[] mlp(ModelWeights.MlpWeights w, float[] x, int rows, Scratch scratch) {
        var m = cpu.math();
        var par = cpu.parallel();
        int d = config.hiddenSize();
        int inter = config.intermediateSize();
        float[] gate = Linear.applyInto(par, m, x, rows, d, w.gate(), inter, null, scratch.get(MLP_GATE, rows * inter));
        float[] up = Linear.applyInto(par, m, x, rows, d, w.up(), inter, null, scratch.get(MLP_UP, rows * inter));
        par.forEach(rows, 40L * inter, r -> m.mulSilu(up, r * inter, gate, r * inter, inter));
        return Linear.applyInto(par, m, up, rows, inter, w.down(), d, null, scratch.get(MLP_OUT, rows * d));
    }

    private void rmsNormRows(float[] x, float[] weight, float[] out, int rows) {
        int d = config.hiddenSize();
        cpu.parallel().forEach(rows, 4L * d, r -> Norms.rmsNorm(cpu.math(), x, r * d, d, weight, config.normEps(), out, r * d));
    }

    private static void addInPlace(float[] h, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            h[i] += y[i];
        }
    }

    private void checkInput(int s, StreamInput in) {
        if (in.tokens().length == 0) {
            throw new IllegalArgumentException("stream " + s + ": tokens is empty, expected at least one token");
        }
        for (int t = 0; t < in.tokens().length; t++) {
            int tok = in.tokens()[t];
            if (tok < 0 || tok >= config.vocabSize()) {
                throw new IllegalArgumentException("stream " + s + ": token " + t + " = " + tok
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        StreamMemory mem = in.memory();
        if (!mem.fingerprint().equals(fingerprint)) {
            throw new IllegalArgumentException("stream " + s + ": memory was computed by model " + mem.fingerprint()
                    + ", this model is " + fingerprint);
        }
        if (mem.layerCount() != config.numLayers()) {
            throw new IllegalArgumentException("stream " + s + ": memory has " + mem.layerCount()
                    + " layers, the model has " + config.numLayers());
        }
        for (int l = 0; l < config.numLayers(); l++) {
            if (!mixers[l].fits(mem.layer(l))) {
                throw new IllegalArgumentException("stream " + s + ": memory of layer " + l
                        + " does not match the model's layout for that layer");
            }
        }
    }
}
