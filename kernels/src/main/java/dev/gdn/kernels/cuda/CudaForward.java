package dev.gdn.kernels.cuda;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.LayerKind;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.model.ForwardEngine;
import dev.gdn.kernels.model.ForwardResult;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ModelWeights.BlockWeights;
import dev.gdn.kernels.model.ModelWeights;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The whole Gated DeltaNet forward pass on one GPU: weights uploaded once (matrices in fp32 or bf16),
 * every operation of a block in CUDA kernels or cuBLAS, the stream memories in a device pool
 * ({@link CudaMemoryPool}) while a batch runs.
 *
 * <p>Two ways in: {@link #forward} (the {@link ForwardEngine} contract: host memories are copied into
 * the pool, advanced, and copied back, so keyed state stays the source of truth), and the resident API
 * ({@link #reserve}, {@link #advance}) where memories stay on the GPU between calls and only tokens
 * travel (what the benchmark measures). Batches larger than {@code maxRowsPerPass} rows run as several
 * passes of whole streams, which bounds activation memory without changing any result.
 *
 * <p>A pass embeds the tokens, then runs each block: its norm, its token mixer (the {@link CudaTokenMixer}
 * of the layer's type: Gated DeltaNet, sliding-window attention or Mamba2) and its MLP, then the final
 * norm and the LM head. The Gated DeltaNet states may live in the pool in bf16 ({@link StatePrecision}).
 *
 * <p>Batch invariance: every custom kernel computes a stream from its own rows only, in a fixed order
 * (bitwise invariant); cuBLAS may choose another algorithm for another number of rows, so the
 * projections of a row can differ in the last bits between batch sizes (measured in the GPU tests).
 * Not thread-safe on its own: callers share it through {@link GatedDeltaNetModel}, which serialises.
 */
public final class CudaForward implements ForwardEngine {
    /** Rows of the LM head computed at once (bounds the logits buffer). */
    private static final int LOGIT_BLOCK = 4096;
    /** Device bytes cuBLAS may use as workspace (fixed, so that graph capture never allocates). */
    private static final long CUBLAS_WORKSPACE = 32L << 20;

    private final CudaDevice device;
    private final ModelConfig c;
    private final MatmulPrecision precision;
    private final StatePrecision statePrecision;
    private final int maxRowsPerPass;
    private final GraphCache graphs;
    private final Cublas blas;
    private final CudaModelOps ops;
    private final CudaProducts products;
    /** Each layer kind's compiled kernels, in the order the kinds first appear in the model. */
    private final java.util.Map<LayerKind, CudaLayer.Kernels> kernels = new java.util.LinkedHashMap<>();
    private final long embeddings;
    private final long finalNorm;
    private final DeviceMatrix lmHead;
    private final Block[] layers;
    /** The pool the current pass works on: the copy path's own, or a resident set's during its call. */
    private CudaMemoryPool pool;
    private final DeviceScratch scratch;
    private final long weightBytes;

    /** The SwiGLU MLP of a block on the device. */
    private record Mlp(long norm, DeviceMatrix gate, DeviceMatrix up, DeviceMatrix down) {
    }

    /** One block: its pre-mixer norm, its token mixer (typed by layer kind) and its MLP. */
    private record Block(long norm, CudaTokenMixer mixer, Mlp mlp) {
    }

    /**
     * Run length from which a stream's gated delta rule takes the chunkwise kernel (shorter runs: the
     * recurrent one, one-token batches: the decode step).
     */
    public static final int CHUNK_FROM = 32;

    /** Rows one pass computes at most by default. */
    public static final int DEFAULT_MAX_ROWS_PER_PASS = 16384;

    /**
     * Uploads the model's weights to {@code device}, which the engine then owns (closed with it).
     *
     * @param maxRowsPerPass most tokens one pass computes at once (larger batches are split by streams)
     * @throws CudaException naming the failed call (e.g. out of device memory)
     * @throws IllegalArgumentException when the model's shapes are outside what the kernels support
     */
    public CudaForward(CudaDevice device, GatedDeltaNetModel model, MatmulPrecision precision, int maxRowsPerPass) {
        this(device, model, precision, ChunkPrecision.FP32, maxRowsPerPass);
    }

    /**
     * As {@link #CudaForward(CudaDevice, GatedDeltaNetModel, MatmulPrecision, int)}, the chunkwise gated
     * delta rule in {@code chunkPrecision} (the fp32 form where the tensor-core kernels do not cover the
     * heads' shape: {@link #name()} says which runs).
     */
    public CudaForward(CudaDevice device, GatedDeltaNetModel model, MatmulPrecision precision,
            ChunkPrecision chunkPrecision, int maxRowsPerPass) {
        this(device, model, precision, chunkPrecision, StatePrecision.FP32, maxRowsPerPass);
    }

    /**
     * As {@link #CudaForward(CudaDevice, GatedDeltaNetModel, MatmulPrecision, ChunkPrecision, int)}, the Gated
     * DeltaNet states held in the device pool in {@code statePrecision} (see {@link StatePrecision}).
     */
    public CudaForward(CudaDevice device, GatedDeltaNetModel model, MatmulPrecision precision,
            ChunkPrecision chunkPrecision, StatePrecision statePrecision, int maxRowsPerPass) {
        this.c = model.config();
        this.statePrecision = statePrecision;
        try {
            checkSupported(c, maxRowsPerPass);
            this.device = device;
            this.precision = precision;
            this.maxRowsPerPass = maxRowsPerPass;
            device.bind();
            long before = device.memoryInfo()[0];
            CUstream_st stream = device.useNewStream();
            this.blas = new Cublas(device, device.allocate(CUBLAS_WORKSPACE), CUBLAS_WORKSPACE);
            this.graphs = new GraphCache(device, stream);
            this.ops = new CudaModelOps(device, c.convSize());
            this.scratch = new DeviceScratch(device);
            this.products = new CudaProducts(device, precision, blas, ops, scratch);
            CudaSetup setup = new CudaSetup(device, products, ops, c, chunkPrecision, statePrecision);
            for (LayerKind kind : kindsOf(c)) {
                kernels.put(kind, kind.cuda().orElseThrow().compile(setup));
            }
            ModelWeights w = model.weights();
            int d = c.hiddenSize();
            this.embeddings = device.floats(w.embeddings());
            this.finalNorm = device.floats(w.finalNorm());
            this.lmHead = products.matrix(w.lmHead(), c.vocabSize(), d);
            this.layers = new Block[c.numLayers()];
            for (int l = 0; l < layers.length; l++) {
                BlockWeights bw = w.layers().get(l);
                Mlp mlp = new Mlp(device.floats(bw.mlpNorm()), products.matrix(bw.mlp().gate(), c.intermediateSize(), d),
                        products.matrix(bw.mlp().up(), c.intermediateSize(), d),
                        products.matrix(bw.mlp().down(), d, c.intermediateSize()));
                CudaTokenMixer mixer = kernels.get(LayerKinds.of(c, l)).mixer(bw.mixer());
                layers[l] = new Block(device.floats(bw.attnNorm()), mixer, mlp);
            }
            device.synchronize();
            this.weightBytes = before - device.memoryInfo()[0];
            this.pool = new CudaMemoryPool(device, ops, c, 1, statePrecision);
        } catch (RuntimeException | Error e) {
            device.close();
            throw e;
        }
    }

    private static void checkSupported(ModelConfig c, int maxRowsPerPass) {
        if (maxRowsPerPass < 1) {
            throw new IllegalArgumentException("maxRowsPerPass must be >= 1, got " + maxRowsPerPass);
        }
        unsupportedReason(c).ifPresent(r -> {
            throw new IllegalArgumentException(r);
        });
    }

    /** Why the CUDA engine cannot run a model of this config, if it cannot. */
    public static java.util.Optional<String> unsupportedReason(ModelConfig c) {
        for (LayerKind kind : kindsOf(c)) {
            if (kind.cuda().isEmpty()) {
                return java.util.Optional.of(kind.label() + " layers have no CUDA kernels yet; they run on the CPU backend");
            }
            java.util.Optional<String> why = kind.cuda().get().unsupportedReason(c);
            if (why.isPresent()) {
                return why;
            }
        }
        if (c.convSize() < 1 || c.convSize() > 16) {
            return java.util.Optional.of("conv_size " + c.convSize() + " is outside [1, 16] for the CUDA kernels");
        }
        return java.util.Optional.empty();
    }

    /** The kinds of the model's layers, each once, in the order they first appear. */
    static List<LayerKind> kindsOf(ModelConfig c) {
        java.util.LinkedHashSet<LayerKind> kinds = new java.util.LinkedHashSet<>();
        for (int l = 0; l < c.numLayers(); l++) {
            kinds.add(LayerKinds.of(c, l));
        }
        return List.copyOf(kinds);
    }

    @Override
    public String name() {
        return "cuda (" + device.architecture() + ", " + precision.label() + " matmuls"
                + kernels.values().stream().map(CudaLayer.Kernels::describe).filter(d -> !d.isEmpty())
                        .map(d -> ", " + d).collect(java.util.stream.Collectors.joining())
                + (statePrecision == StatePrecision.BF16 ? ", bf16 states" : "") + ")";
    }

    public MatmulPrecision precision() {
        return precision;
    }

    /** Device bytes of one stream's memory in the pool. */
    public long memoryBytesPerStream() {
        return pool.bytesPerSlot();
    }

    /** Device bytes the weights (and kernels, cuBLAS workspace) took at load. */
    public long weightBytes() {
        return weightBytes;
    }

    @Override
    public synchronized ForwardResult forward(List<StreamInput> batch, int[] offsets, boolean logits) {
        int n = batch.size();
        int rows = offsets[n];
        int d = c.hiddenSize();
        float[] hidden = new float[rows * d];
        float[] out = logits ? new float[Math.multiplyExact(rows, c.vocabSize())] : null;
        int first = 0;
        while (first < n) {
            int last = first + 1;
            while (last < n && offsets[last + 1] - offsets[first] <= maxRowsPerPass) {
                last++;
            }
            StreamMemory[] mems = new StreamMemory[last - first];
            int[] slots = new int[mems.length];
            int[] off = new int[mems.length + 1];
            int[] tokens = new int[offsets[last] - offsets[first]];
            for (int i = 0; i < mems.length; i++) {
                StreamInput in = batch.get(first + i);
                mems[i] = in.memory();
                slots[i] = i;
                off[i + 1] = off[i] + in.tokens().length;
                System.arraycopy(in.tokens(), 0, tokens, off[i], in.tokens().length);
            }
            pool.ensureCapacity(mems.length);
            pool.upload(mems);
            pass(slots, off, tokens, logits, hidden, offsets[first] * d, out, (long) offsets[first] * c.vocabSize());
            pool.download(mems);
            first = last;
        }
        return new ForwardResult(offsets, hidden, out, d, c.vocabSize());
    }

    @Override
    public synchronized float[] logits(float[] x, int rows) {
        int d = c.hiddenSize();
        long dx = scratch.get("normed", 4L * rows * d);
        device.upload(dx, x);
        float[] out = new float[Math.multiplyExact(rows, c.vocabSize())];
        lmHeadBlocks(dx, rows, out, 0);
        return out;
    }

    @Override
    public synchronized dev.gdn.kernels.model.RowScores scoreRows(float[] hidden, int from, int rows, int[] targets,
            boolean[] want, int k) {
        if (k > CudaModelOps.SCORE_MAX_K) {
            return null;
        }
        device.bind();
        int d = c.hiddenSize();
        long dx = scratch.get("score_x", 4L * Math.max(1, rows) * d);
        if (rows > 0) {
            device.upload(dx, java.util.Arrays.copyOfRange(hidden, from * d, (from + rows) * d));
        }
        return scoreDevice(dx, rows, targets, want, k);
    }

    /**
     * Scores {@code rows} rows of final normed hidden states already on the device ({@code x [rows, D]}):
     * the LM head and the reductions run there, block by block; only the scores are copied down.
     */
    private dev.gdn.kernels.model.RowScores scoreDevice(long x, int rows, int[] targets, boolean[] want, int k) {
        return scoreDevice(x, rows, rows == 0 ? 0 : scratch.ints("score_in", scoreInputs(targets, want)), k);
    }

    /** The score kernel's inputs for {@code rows} rows, packed for one upload: the targets, then 0/1 wants. */
    private static int[] scoreInputs(int[] targets, boolean[] want) {
        int rows = targets.length;
        int[] in = new int[2 * rows];
        System.arraycopy(targets, 0, in, 0, rows);
        for (int i = 0; i < rows; i++) {
            in[rows + i] = want[i] ? 1 : 0;
        }
        return in;
    }

    /**
     * {@link #scoreDevice(long, int, int[], boolean[], int)} with the inputs already on the device
     * ({@code in}: {@link #scoreInputs}); each block's scores come down in one copy.
     */
    private dev.gdn.kernels.model.RowScores scoreDevice(long x, int rows, long in, int k) {
        int d = c.hiddenSize();
        int vocab = c.vocabSize();
        int kk = Math.max(k, 1);
        double[] lse = new double[rows];
        float[] target = new float[rows];
        int[] ids = new int[rows * k];
        float[] top = new float[rows * k];
        for (int r0 = 0; r0 < rows; r0 += LOGIT_BLOCK) {
            int nr = Math.min(LOGIT_BLOCK, rows - r0);
            long dx = x + 4L * r0 * d;
            long buf = scratch.get("logits", 4L * nr * vocab);
            products.prepare(dx, nr, d);
            products.linear(dx, nr, lmHead, buf);
            // one output block: lse [nr] doubles, target [nr], top ids [nr, kk], top logits [nr, kk]
            long bytes = 8L * nr + 4L * nr + 8L * nr * kk;
            long out = scratch.get("score_out", bytes);
            long dTarget = out + 8L * nr;
            long dIds = dTarget + 4L * nr;
            long dTop = dIds + 4L * nr * kk;
            ops.scoreRows(buf, in + 4L * r0, in + 4L * (rows + r0), nr, vocab, k, out, dTarget, dIds, dTop);
            try (org.bytedeco.javacpp.BytePointer h = new org.bytedeco.javacpp.BytePointer(bytes)) {
                device.download(h, out, bytes);
                java.nio.ByteBuffer b = h.asBuffer().order(java.nio.ByteOrder.nativeOrder());
                b.asDoubleBuffer().get(lse, r0, nr);
                b.position((int) (8L * nr));
                b.slice().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().get(target, r0, nr);
                if (k > 0) {
                    // top ids and logits are [nr, k] in their blocks
                    b.position((int) (12L * nr));
                    b.slice().order(java.nio.ByteOrder.nativeOrder()).asIntBuffer().get(ids, r0 * k, nr * k);
                    b.position((int) (12L * nr + 4L * nr * kk));
                    b.slice().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().get(top, r0 * k, nr * k);
                }
            }
        }
        return new dev.gdn.kernels.model.RowScores(lse, target, ids, top, k);
    }

    // ---- resident memories ----

    /** Makes room for {@code slots} resident streams, all zero (earlier contents are lost). */
    public synchronized void reserve(int slots) {
        pool.ensureCapacity(slots);
        for (int s = 0; s < slots; s++) {
            pool.clear(s);
        }
    }

    /**
     * Advances resident streams: stream n (slot {@code slots[n]}) consumes
     * {@code tokens[offsets[n] .. offsets[n+1])}. Nothing is copied back; the LM head runs when
     * {@code logits} is set (its output stays on the device).
     *
     * @param slots   {@code [N]} distinct slots below the reserved count
     * @param offsets {@code [N + 1]}
     * @param tokens  {@code [rows]}
     */
    public synchronized void advance(int[] slots, int[] offsets, int[] tokens, boolean logits) {
        for (int s : slots) {
            if (s < 0 || s >= pool.capacity()) {
                throw new IllegalArgumentException("slot " + s + " is outside [0, " + pool.capacity() + ")");
            }
        }
        pass(slots, offsets, tokens, logits, null, 0, null, 0);
    }

    // ---- resident sets (ResidentStreams): one pool each, so operator instances sharing the model never
    // share slots ----

    @Override
    public dev.gdn.kernels.model.ResidentStreams residentStreams(GatedDeltaNetModel model, int capacity) {
        return new CudaResidentStreams(this, model.newMemory(), capacity);
    }

    /** Share of the free device memory resident streams take when the user sets no capacity. */
    public static final double RESIDENT_SHARE = 0.4;

    @Override
    public synchronized long residentBytesSuggested() {
        device.bind();
        return (long) (device.memoryInfo()[0] * RESIDENT_SHARE);
    }

    synchronized CudaMemoryPool newPool(int capacity) {
        device.bind();
        return new CudaMemoryPool(device, ops, c, capacity, statePrecision);
    }

    synchronized void loadSlots(CudaMemoryPool p, int[] slots, StreamMemory[] mems) {
        device.bind();
        p.uploadSlots(slots, mems);
    }

    synchronized void storeSlots(CudaMemoryPool p, int[] slots, StreamMemory[] into) {
        device.bind();
        p.downloadSlots(slots, into);
    }

    int hiddenSize() {
        return c.hiddenSize();
    }

    /**
     * Rows {@code rows[i]} of the device array {@code [*, width]} at {@code base}, as host arrays: one
     * gather on the device and one copy down for all of them.
     */
    synchronized float[][] getRows(long base, int width, int[] rows) {
        device.bind();
        int n = rows.length;
        float[][] out = new float[n][];
        if (n == 0) {
            return out;
        }
        long meta = scratch.ints("rows_meta", rowsMeta(rows, false));
        long packed = scratch.get("rows_packed", 4L * n * width);
        ops.copyRows(base, meta, packed, meta + 4L * n, n, width);
        try (FloatPointer h = new FloatPointer((long) n * width)) {
            device.download(h, packed, 4L * n * width);
            float[] all = new float[n * width];
            h.get(all);
            for (int i = 0; i < n; i++) {
                out[i] = java.util.Arrays.copyOfRange(all, i * width, (i + 1) * width);
            }
        }
        return out;
    }

    /** Writes {@code values[i]} ({@code width} floats each) into row {@code rows[i]} of the device array at {@code base}: one copy up and one scatter. */
    synchronized void putRows(long base, int width, int[] rows, float[][] values) {
        device.bind();
        int n = rows.length;
        if (n == 0) {
            return;
        }
        float[] all = new float[n * width];
        for (int i = 0; i < n; i++) {
            if (values[i].length != width) {
                throw new IllegalArgumentException("row " + i + " has " + values[i].length + " floats, expected " + width);
            }
            System.arraycopy(values[i], 0, all, i * width, width);
        }
        try (FloatPointer h = new FloatPointer(all)) {
            long meta = scratch.ints("rows_meta", rowsMeta(rows, true));
            long packed = scratch.get("rows_packed", 4L * n * width);
            device.upload(packed, h, 4L * n * width);
            ops.copyRows(packed, meta, base, meta + 4L * n, n, width);
        }
    }

    /** {@code [rows, 0 .. n-1]} (a gather: source rows, then packed rows) or {@code [0 .. n-1, rows]} (a scatter). */
    private static int[] rowsMeta(int[] rows, boolean scatter) {
        int n = rows.length;
        int[] meta = new int[2 * n];
        for (int i = 0; i < n; i++) {
            meta[scatter ? i : n + i] = i;
            meta[scatter ? n + i : i] = rows[i];
        }
        return meta;
    }

    synchronized long allocate(long bytes) {
        device.bind();
        return device.allocate(bytes);
    }

    synchronized void free(long ptr) {
        device.bind();
        device.free(ptr);
    }

    /**
     * Copies {@code slots} of {@code p} into slots {@code 0 .. n-1} of {@code shadow} on the device (grown to
     * fit) and waits for the copies: the memories as they are after every pass queued so far.
     */
    synchronized void snapshotSlots(CudaMemoryPool p, int[] slots, CudaMemoryPool shadow) {
        device.bind();
        shadow.ensureCapacity(slots.length);
        shadow.prepareStaging(slots.length);
        p.copySlotsTo(slots, shadow);
        device.synchronize();
    }

    /**
     * Copies slots {@code slots[i]} of {@code from} into slots {@code i} of {@code to} on the device, with
     * their last hidden rows ({@code lastFrom, lastTo [capacity, D]}), after every pass queued so far.
     */
    synchronized void forkSlots(CudaMemoryPool from, int[] slots, long lastFrom, CudaMemoryPool to, long lastTo) {
        if (slots.length == 0) {
            return;
        }
        device.bind();
        from.copySlotsTo(slots, to);
        int[] dst = java.util.stream.IntStream.range(0, slots.length).toArray();
        ops.copyRows(lastFrom, scratch.ints("fork_src", slots), lastTo, scratch.ints("fork_dst", dst), slots.length,
                c.hiddenSize());
    }

    /** Free device memory in bytes. */
    synchronized long freeBytes() {
        device.bind();
        return device.memoryInfo()[0];
    }

    synchronized void clearSlots(CudaMemoryPool p, int[] slots) {
        device.bind();
        p.clearAll(slots);
    }

    synchronized void clearSlot(CudaMemoryPool p, int slot) {
        device.bind();
        p.clear(slot);
    }

    synchronized void closePool(CudaMemoryPool p) {
        device.bind();
        p.close();
    }

    /**
     * Advances streams resident in {@code p} and scores rows of the final hidden states on the device
     * (see {@link dev.gdn.kernels.model.ResidentStreams#advanceScored}). {@code last [capacity, D]} holds
     * each slot's last hidden state: the asked rows are gathered from it before the advance's last rows
     * replace it. Batches over the pass limit run as several passes, their hidden states gathered on the
     * device.
     */
    synchronized dev.gdn.kernels.model.ResidentStreams.Scored advanceScored(CudaMemoryPool p, long last, int[] slots,
            int[] offsets, int[] tokens, dev.gdn.kernels.model.ResidentStreams.ScoreRows score, boolean hostHidden) {
        if (score.k() > CudaModelOps.SCORE_MAX_K) {
            throw new IllegalArgumentException("k must be <= " + CudaModelOps.SCORE_MAX_K + " on the GPU, got " + score.k());
        }
        device.bind();
        int n = slots.length;
        int d = c.hiddenSize();
        int rows = offsets[n];
        // the passes run the streams that bring tokens (a stream without any rides along only to have its
        // last hidden state scored); dropping those keeps every row where it is
        int running = 0;
        for (int i = 0; i < n; i++) {
            running += offsets[i + 1] > offsets[i] ? 1 : 0;
        }
        int[] runSlots = new int[running];
        int[] runOffsets = new int[running + 1];
        for (int i = 0, j = 0; i < n; i++) {
            if (offsets[i + 1] > offsets[i]) {
                runSlots[j] = slots[i];
                runOffsets[++j] = offsets[i + 1];
            }
        }
        List<int[]> groups = new ArrayList<>();
        for (int first = 0; first < runSlots.length; ) {
            int end = first + 1;
            while (end < runSlots.length && runOffsets[end + 1] - runOffsets[first] <= maxRowsPerPass) {
                end++;
            }
            groups.add(new int[] {first, end});
            first = end;
        }
        // the rows to score: this advance's rows (A) and the slots' last hidden states from before it (L); then
        // each advanced slot's last hidden state becomes its stream's last row. Their indices and the score
        // inputs go up in one copy, before the pass
        int r = score.rows();
        int fromAdvance = 0;
        for (int s : score.sources()) {
            fromAdvance += s >= 0 ? 1 : 0;
        }
        int advanced = runSlots.length;
        int fromLast = r - fromAdvance;
        // [srcA, dstA, srcL, dstL] then [lastRow, lastSlot] then the score inputs [targets, wants]
        int[] meta = new int[2 * r + 2 * advanced + 2 * r];
        int srcA = 0;
        int dstA = fromAdvance;
        int srcL = 2 * fromAdvance;
        int dstL = srcL + fromLast;
        for (int i = 0, a = 0, b = 0; i < r; i++) {
            int s = score.sources()[i];
            if (s >= 0) {
                meta[srcA + a] = s;
                meta[dstA + a++] = i;
            } else {
                meta[srcL + b] = slots[-s - 1];
                meta[dstL + b++] = i;
            }
        }
        int lastRow = 2 * r;
        int lastSlot = lastRow + advanced;
        for (int i = 0; i < advanced; i++) {
            meta[lastRow + i] = runOffsets[i + 1] - 1;
            meta[lastSlot + i] = runSlots[i];
        }
        int scoreIn = 2 * r + 2 * advanced;
        int[] packed = scoreInputs(score.targets(), score.want());
        System.arraycopy(packed, 0, meta, scoreIn, packed.length);
        long dMeta = meta.length == 0 ? 0 : scratch.ints("advance_meta", meta);
        CudaMemoryPool own = pool;
        pool = p;
        long hidden;
        try {
            long gathered = groups.size() > 1 ? scratch.get("bundle_hidden", 4L * rows * d) : 0;
            for (int[] g : groups) {
                int first = g[0];
                int end = g[1];
                int[] sl = java.util.Arrays.copyOfRange(runSlots, first, end);
                int[] off = new int[end - first + 1];
                for (int i = 0; i < sl.length; i++) {
                    off[i + 1] = runOffsets[first + i + 1] - runOffsets[first];
                }
                int[] tk = java.util.Arrays.copyOfRange(tokens, runOffsets[first], runOffsets[end]);
                pass(sl, off, tk, false, null, 0, null, 0);
                if (gathered != 0) {
                    device.copy(gathered + 4L * runOffsets[first] * d, scratch.get("normed", 4L * off[sl.length] * d),
                            4L * off[sl.length] * d);
                }
            }
            hidden = gathered != 0 ? gathered : scratch.get("normed", 4L * Math.max(1, rows) * d);
        } finally {
            pool = own;
        }
        long x = scratch.get("score_x", 4L * Math.max(1, r) * d);
        ops.copyRows(hidden, dMeta + 4L * srcA, x, dMeta + 4L * dstA, fromAdvance, d);
        ops.copyRows(last, dMeta + 4L * srcL, x, dMeta + 4L * dstL, fromLast, d);
        ops.copyRows(hidden, dMeta + 4L * lastRow, last, dMeta + 4L * lastSlot, advanced, d);
        dev.gdn.kernels.model.RowScores scores = scoreDevice(x, r, dMeta + 4L * scoreIn, score.k());
        float[] host = null;
        if (hostHidden) {
            host = new float[rows * d];
        }
        if (hostHidden && rows > 0) {
            try (FloatPointer h = new FloatPointer((long) rows * d)) {
                device.download(h, hidden, 4L * rows * d);
                h.get(host, 0, rows * d);
            }
        }
        return new dev.gdn.kernels.model.ResidentStreams.Scored(scores, host);
    }

    /** CUDA graphs captured so far (one-token batches of a repeated size). */
    public int graphsCaptured() {
        return graphs.captures();
    }

    /** Waits for all queued GPU work. */
    public void synchronize() {
        device.synchronize();
    }

    public CudaDevice device() {
        return device;
    }

    // ---- one pass ----

    /**
     * One pass: copies the batch's tokens, offsets, slots and attention positions up, runs the layers
     * (as a CUDA graph for one-token batches of a size seen before), then copies the results down.
     */
    private void pass(int[] slots, int[] offsets, int[] tokens, boolean logits, float[] hiddenOut, int hiddenAt,
            float[] logitsOut, long logitsAt) {
        device.bind();
        int n = slots.length;
        int rows = offsets[n];
        int d = c.hiddenSize();
        long dTokens = scratch.ints("tokens", tokens);
        long dOffsets = scratch.ints("offsets", offsets);
        long dSlots = scratch.ints("slots", slots);
        long[] positions = new long[layers.length];
        for (int l = 0; l < layers.length; l++) {
            int window = layers[l].mixer().ringWindow();
            if (window > 0) {
                positions[l] = scratch.ints("positions" + l, attentionPositions(l, window, slots));
            }
        }
        int longest = 0;
        for (int i = 0; i < n; i++) {
            longest = Math.max(longest, offsets[i + 1] - offsets[i]);
        }
        int longestRun = longest;
        CudaPass p = new CudaPass(c, ops, scratch, products, pool, n, rows, longestRun, dSlots, dOffsets, positions);
        Runnable body = () -> layers(p, dTokens, logits);
        if (rows == n && rows <= LOGIT_BLOCK) {
            // the one-token step: the same launches for the same batch size, replayed as a graph
            graphs.validate(scratch.generation() * 1_000_003L + pool.generation());
            graphs.run(2L * n + (logits ? 1 : 0), body);
        } else {
            body.run();
        }
        for (int l = 0; l < layers.length; l++) {
            if (layers[l].mixer().ringWindow() > 0) {
                for (int i = 0; i < n; i++) {
                    pool.advance(l, slots[i], offsets[i + 1] - offsets[i]);
                }
            }
        }
        if (hiddenOut != null) {
            try (FloatPointer host = new FloatPointer((long) rows * d)) {
                device.download(host, scratch.get("normed", 4L * rows * d), 4L * rows * d);
                host.get(hiddenOut, hiddenAt, rows * d);
            }
        }
        if (logits && logitsOut != null && rows <= LOGIT_BLOCK) {
            int vocab = c.vocabSize();
            try (FloatPointer host = new FloatPointer((long) rows * vocab)) {
                device.download(host, scratch.get("logits", 4L * rows * vocab), 4L * rows * vocab);
                host.get(logitsOut, (int) logitsAt, rows * vocab);
            }
        } else if (logits && logitsOut != null) {
            lmHeadBlocks(scratch.get("normed", 4L * rows * d), rows, logitsOut, logitsAt);
        }
    }

    /** Per stream: ring entries in view, ring slot of the oldest, ring slot of the next position ({@code [3, N]}). */
    private int[] attentionPositions(int layer, int window, int[] slots) {
        int n = slots.length;
        int[] p = new int[3 * n];
        for (int i = 0; i < n; i++) {
            long pos = pool.position(layer, slots[i]);
            int cached = (int) Math.min(pos, window);
            p[i] = cached;
            p[n + i] = (int) ((pos - cached) % window);
            p[2 * n + i] = (int) (pos % window);
        }
        return p;
    }

    /**
     * The device work of a pass: no host copies, and no allocation once a shape has run (the LM head
     * included only up to one block of rows; larger ones go through {@link #lmHeadBlocks}).
     */
    private void layers(CudaPass p, long dTokens, boolean logits) {
        int rows = p.rows();
        int d = c.hiddenSize();
        float eps = c.normEps();
        long h = scratch.get("h", 4L * rows * d);
        long normed = scratch.get("normed", 4L * rows * d);
        long mixed = scratch.get("mixed", 4L * rows * d);
        ops.embed(embeddings, dTokens, h, rows, d);
        // each norm and the SwiGLU also write their output as the next products' bf16 operand (bf16 products)
        ops.addRmsNorm(h, 0, layers[0].norm(), normed, products.bf16Output(normed, rows, d), rows, d, eps);
        for (int l = 0; l < layers.length; l++) {
            layers[l].mixer().mix(p, l, normed, mixed);
            Mlp mlp = layers[l].mlp();
            ops.addRmsNorm(h, mixed, mlp.norm(), normed, products.bf16Output(normed, rows, d), rows, d, eps);
            int inter = c.intermediateSize();
            long gate = scratch.get("mlpGate", 4L * rows * inter);
            long up = scratch.get("mlpUp", 4L * rows * inter);
            products.prepare(normed, rows, d);
            if (products.roundsOutputs()) {
                // bf16 products hand gate and up on in bf16, as a bf16 PyTorch MLP does (half their traffic)
                products.linearRounded(normed, rows, mlp.gate(), gate);
                products.linearRounded(normed, rows, mlp.up(), up);
                ops.swigluBf16(gate, up, products.bf16Output(gate, rows, inter), (long) rows * inter);
            } else {
                products.linear(normed, rows, mlp.gate(), gate);
                products.linear(normed, rows, mlp.up(), up);
                ops.swiglu(gate, up, products.bf16Output(gate, rows, inter), (long) rows * inter);
            }
            products.prepare(gate, rows, inter);
            products.linear(gate, rows, mlp.down(), mixed);
            long next = l + 1 < layers.length ? layers[l + 1].norm() : finalNorm;
            ops.addRmsNorm(h, mixed, next, normed, products.bf16Output(normed, rows, d), rows, d, eps);
        }
        if (logits && rows <= LOGIT_BLOCK) {
            long buf = scratch.get("logits", 4L * rows * c.vocabSize());
            products.prepare(normed, rows, d);
            products.linear(normed, rows, lmHead, buf);
        }
    }

    /** The LM head over any number of rows, block by block, each block copied down when done. */
    private void lmHeadBlocks(long normed, int rows, float[] out, long at) {
        int vocab = c.vocabSize();
        int d = c.hiddenSize();
        long buf = scratch.get("logits", 4L * Math.min(rows, LOGIT_BLOCK) * vocab);
        for (int r = 0; r < rows; r += LOGIT_BLOCK) {
            int nr = Math.min(LOGIT_BLOCK, rows - r);
            products.prepare(normed + 4L * r * d, nr, d);
            products.linear(normed + 4L * r * d, nr, lmHead, buf);
            if (out != null) {
                try (FloatPointer host = new FloatPointer((long) nr * vocab)) {
                    device.download(host, buf, 4L * nr * vocab);
                    host.get(out, (int) (at + (long) r * vocab), nr * vocab);
                }
            }
        }
    }

    /** Releases the pool, scratch, cuBLAS and the device (weights included). */
    @Override
    public synchronized void close() {
        graphs.close();
        kernels.values().forEach(CudaLayer.Kernels::close);
        pool.close();
        scratch.close();
        ops.close();
        blas.close();
        device.close();
    }
}
