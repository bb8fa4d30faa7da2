package dev.gdn.kernels.cuda;

import dev.gdn.kernels.deltarule.DeltaRuleShape;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.global.cudart;

/**
 * The gated delta rule in chunkwise (WY) form on the GPU, states in the same slot-addressed pool as
 * {@link CudaRecurrentGatedDeltaRule}; varlen in one call, bitwise batch-invariant in every form.
 *
 * <ul>
 *   <li>{@link ChunkPrecision#FP32}: {@code gated_delta_rule_chunk.cu}, one launch, chunks of 32 tokens,
 *       fp32 fused multiply-adds.</li>
 *   <li>{@link ChunkPrecision#TF32X3} and {@link ChunkPrecision#BF16}: {@code gated_delta_rule_chunk_tc.cu},
 *       chunks of 64 tokens on tensor cores in two launches: every chunk's triangular inverse and
 *       products at once, then the chunks of each stream in order, 32 value columns a block (64 with
 *       3xTF32 operands where a block of 16 warps fits them, see {@link #defaultTile}). The first
 *       writes per-row intermediates to scratch this object owns ({@code (3K + V + 64) x HV} values a
 *       row in the operands' precision, and one fp32).</li>
 * </ul>
 *
 * <p>Device arrays as in {@link DeltaRuleArrays}.
 */
public final class CudaChunkedGatedDeltaRule implements AutoCloseable {
    private static final int THREADS = 256;
    /** Value columns of the state a block of the fp32 kernel owns. */
    private static final int TILE = 64;
    /** Value columns of the state a block of the tensor-core recurrence owns (by default). */
    private static final int TC_TILE = 32;
    private static final int TC_CHUNK = 64;
    private static final int MAX_SHARED = 220 * 1024;

    private final CudaDevice device;
    private final DeltaRuleShape shape;
    private final ChunkPrecision precision;
    private final int sharedBytes;
    private final int prepareShared;
    private final CUfunc_st function;
    private final CUfunc_st prepare;
    private final LaunchArgs args;
    private final int tile;
    /** Threads a block of the tensor-core recurrence. */
    private final int recurThreads;
    private long scratch;
    private long scratchRows;

    /** The exact fp32 form. */
    public CudaChunkedGatedDeltaRule(CudaDevice device, DeltaRuleShape shape) {
        this(device, shape, ChunkPrecision.FP32);
    }

    /**
     * @throws IllegalArgumentException when {@link #supports} is false for the shape and precision
     */
    public CudaChunkedGatedDeltaRule(CudaDevice device, DeltaRuleShape shape, ChunkPrecision precision) {
        this(device, shape, precision, StatePrecision.FP32);
    }

    /**
     * With the pool's states in {@code state} precision.
     *
     * @throws IllegalArgumentException when {@link #supports} is false for the shape and precision
     */
    public CudaChunkedGatedDeltaRule(CudaDevice device, DeltaRuleShape shape, ChunkPrecision precision,
            StatePrecision state) {
        this(device, shape, precision, state, defaultTile(shape.keyDim(), precision));
    }

    /**
     * Value columns a block of the tensor-core recurrence owns unless told: 32; with 3xTF32 operands and heads
     * of 128 keys or more 64 where such a block (16 warps, one a multiprocessor) fits its shared memory: it
     * reads the chunk's operands half as often, which pays where a multiprocessor holds one block of 32
     * columns anyway (smaller heads fit two, and 16 warps two blocks would spill; measured on an H200: the
     * recurrence of 256 streams x 64 tokens, K = V = 128, 1.44 ms against 1.78 with 32 columns; bf16 operands,
     * which fit two blocks of 32 columns, were slower with 64: 0.58 against 0.49 ms).
     */
    static int defaultTile(int k, ChunkPrecision p) {
        return p == ChunkPrecision.TF32X3 && k >= 128 && recurShared(k, p, 64, false, false, 16) <= MAX_SHARED ? 64
                : TC_TILE;
    }

    /**
     * With {@code tile} (16, 32 or 64) value columns a block in the tensor-core recurrence and extra compile
     * definitions (for tuning, e.g. {@code -DMMA_UNROLL=4}).
     */
    CudaChunkedGatedDeltaRule(CudaDevice device, DeltaRuleShape shape, ChunkPrecision precision, StatePrecision state,
            int tile, String... defines) {
        if (tile != 16 && tile != 32 && tile != 64) {
            throw new IllegalArgumentException("tile " + tile + " is not 16, 32 or 64 value columns");
        }
        if (!supports(shape, precision, tile)) {
            throw new IllegalArgumentException(shape + " is outside the " + precision.label() + " chunk kernel's "
                    + "shapes with " + tile + " value columns a block (K a multiple of "
                    + (precision.tensorCores() ? 64 : 16) + ", V of 64, shared memory within " + MAX_SHARED / 1024
                    + " KiB)");
        }
        this.tile = tile;
        this.device = device;
        this.shape = shape;
        this.precision = precision;
        this.args = new LaunchArgs(device);
        int k = shape.keyDim();
        if (precision.tensorCores()) {
            RecurLayout layout = RecurLayout.choose(k, precision, tile, device.sharedPerMultiprocessor(), defines);
            if (layout.sharedBytes() > MAX_SHARED) {
                throw new IllegalArgumentException("the recurrence laid out as " + String.join(" ", layout.options())
                        + " for " + shape + " needs " + layout.sharedBytes() + " bytes of shared memory, more than "
                        + MAX_SHARED);
            }
            String[] opts = java.util.stream.Stream.concat(java.util.stream.Stream.of(CudaDevice.includeOption()),
                    java.util.Arrays.stream(tensorCoreOptions(k, precision, tile, state, device.sharedPerMultiprocessor(),
                            defines))).toArray(String[]::new);
            this.prepare = device.function(TC_SOURCE, "gdr_chunk_prepare", opts);
            this.function = device.function(TC_SOURCE, "gdr_chunk_recur", opts);
            this.prepareShared = prepareShared(k, precision);
            this.sharedBytes = layout.sharedBytes();
            this.recurThreads = 32 * layout.warps();
            allowShared(prepare, prepareShared);
            // all of L1 as shared memory, so that as many blocks as their shared memory allows are resident
            preferShared(prepare);
            preferShared(function);
        } else {
            this.prepare = null;
            this.prepareShared = 0;
            this.function = device.function(SIMT_SOURCE, "gated_delta_rule_chunk", simtOptions(k, state));
            this.sharedBytes = simtShared(k);
            this.recurThreads = THREADS;
        }
        allowShared(function, sharedBytes);
    }

    static final String TC_SOURCE = "/dev/gdn/kernels/cuda/gated_delta_rule_chunk_tc.cu";
    static final String SIMT_SOURCE = "/dev/gdn/kernels/cuda/gated_delta_rule_chunk.cu";

    /**
     * The tensor-core kernels' compile definitions (without the CUDA include path) for heads of {@code k} keys
     * on a device of {@code sharedPerSm} bytes of shared memory a multiprocessor: the layout
     * {@link RecurLayout#choose} picks, the shared memory the host allocates for each kernel (the kernel
     * lays its memory out itself and fails to compile where its size differs from the host's), then the
     * tuning definitions given that it does not decide.
     */
    static String[] tensorCoreOptions(int k, ChunkPrecision precision, int tile, StatePrecision state, int sharedPerSm,
            String... defines) {
        RecurLayout layout = RecurLayout.choose(k, precision, tile, sharedPerSm, defines);
        return java.util.stream.Stream.of(java.util.stream.Stream.of("-DK_DIM=" + k,
                "-DPREC_BF16=" + (precision == ChunkPrecision.BF16 ? 1 : 0), "-DBV=" + tile,
                "-DPREPARE_BLOCKS=" + prepareBlocks(k, precision, sharedPerSm, defines),
                // what the host allocates, checked against the kernel's own layout when it compiles
                "-DHOST_PREPARE_SHARED=" + prepareShared(k, precision), "-DHOST_RECUR_SHARED=" + layout.sharedBytes()),
                java.util.Arrays.stream(layout.options()), java.util.Arrays.stream(state.options()),
                java.util.Arrays.stream(defines).filter(d -> !RecurLayout.decides(d) && !d.startsWith("-DPREPARE_BLOCKS=")))
                .flatMap(x -> x).toArray(String[]::new);
    }

    /** The fp32 SIMT kernel's compile definitions. */
    static String[] simtOptions(int k, StatePrecision state) {
        return java.util.stream.Stream.concat(java.util.stream.Stream.of("-DK_DIM=" + k),
                java.util.Arrays.stream(state.options())).toArray(String[]::new);
    }

    private void allowShared(CUfunc_st f, int bytes) {
        device.bind();
        Cuda.check("cuFuncSetAttribute(max dynamic shared memory " + bytes + ")", cudart.cuFuncSetAttribute(
                f, cudart.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes));
    }

    private void preferShared(CUfunc_st f) {
        device.bind();
        Cuda.check("cuFuncSetAttribute(preferred shared memory carveout 100%)",
                cudart.cuFuncSetAttribute(f, cudart.CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100));
    }

    /** Whether the fp32 kernel handles heads of this shape. */
    public static boolean supports(DeltaRuleShape shape) {
        return supports(shape, ChunkPrecision.FP32);
    }

    /** Whether the kernel of {@code precision} handles heads of this shape. */
    public static boolean supports(DeltaRuleShape shape, ChunkPrecision precision) {
        return supports(shape, precision, defaultTile(shape.keyDim(), precision));
    }

    /** {@link #supports(DeltaRuleShape, ChunkPrecision)} with {@code tile} value columns a block. */
    static boolean supports(DeltaRuleShape shape, ChunkPrecision precision, int tile) {
        int k = shape.keyDim();
        if (!precision.tensorCores()) {
            return shape.valueDim() % TILE == 0 && k % 16 == 0 && simtShared(k) <= MAX_SHARED;
        }
        return shape.valueDim() % 64 == 0 && k % 64 == 0
                && Math.max(prepareShared(k, precision), recurShared(k, precision, tile, false, true,
                        RecurLayout.defaultWarps(k, precision, tile))) <= MAX_SHARED;
    }

    public ChunkPrecision precision() {
        return precision;
    }

    /** Tokens per chunk. */
    public int chunkTokens() {
        return precision.tensorCores() ? TC_CHUNK : 32;
    }

    /** Ks, Qs {@code [32, K+4]}, the state slice {@code [K, 64]}, U {@code [32, 64]}, A, M {@code [32, 33]}, 4 x {@code [32]}. */
    private static int simtShared(int k) {
        int c = 32;
        return 4 * (2 * c * (k + 4) + k * TILE + c * TILE + 2 * c * (c + 1) + 4 * c);
    }

    private static int elemBytes(ChunkPrecision p) {
        return p == ChunkPrecision.BF16 ? 2 : 4;
    }

    /** Rows padded by 8 elements, as the kernel lays them out. */
    private static int padded(int width) {
        return width + 8;
    }

    /** The value of {@code -DNAME=value} among compile definitions, if one is given. */
    private static java.util.OptionalInt defined(String[] defines, String name) {
        String prefix = "-D" + name + "=";
        for (String d : defines) {
            if (d.startsWith(prefix)) {
                return java.util.OptionalInt.of(Integer.parseInt(d.substring(prefix.length())));
            }
        }
        return java.util.OptionalInt.empty();
    }

    /**
     * Resident blocks of the preparation a multiprocessor its registers are capped for: as many as their
     * shared memory allows, at most three ({@code -DPREPARE_BLOCKS=} among the definitions overrides).
     */
    static int prepareBlocks(int k, ChunkPrecision p, int sharedPerSm, String... defines) {
        return defined(defines, "PREPARE_BLOCKS")
                .orElse(Math.max(1, Math.min(3, sharedPerSm / (prepareShared(k, p) + 1024))));
    }

    /** Five fp32 {@code [C]}; K, Q {@code [C, K]}; two fp32 {@code [C, C]}. See the kernel. */
    private static int prepareShared(int k, ChunkPrecision p) {
        int c = TC_CHUNK;
        return 5 * c * 4 + 2 * c * padded(k) * elemBytes(p) + 2 * c * (c + 8) * 4;
    }

    /**
     * The state slice fp32 {@code [K, BV]} (unless it stays in registers) and as an operand (bf16; in fp32
     * the same array when not in registers); two (three with a buffer for Kt) {@code [C, K]}; U
     * {@code [C, BV]}; M {@code [C, C]}; staging fp32 {@code [C, BV]} (at least a 16 x 16 tile for each of
     * {@code warps}). See the kernel.
     */
    static int recurShared(int k, ChunkPrecision p, int tile, boolean ktBuffer, boolean stateInRegisters, int warps) {
        int c = TC_CHUNK;
        int e = elemBytes(p);
        int fp32State = k * (tile + 8) * 4;
        int state = stateInRegisters ? k * padded(tile) * e
                : fp32State + (p == ChunkPrecision.BF16 ? k * padded(tile) * e : 0);
        return state + (ktBuffer ? 3 : 2) * c * padded(k) * e + c * padded(tile) * e + c * padded(c) * e
                + Math.max(c * (tile + 8), warps * 16 * 16) * 4;
    }

    /**
     * How the tensor-core recurrence is laid out: the first of these that lets two blocks share a
     * multiprocessor (registers capped to match), so that one block's loads overlap the other's products:
     * the fp32 state in shared memory with Kt's own buffer, the state in registers with Kt's buffer, the
     * state in registers with Kt sharing -W's; else the first that fits one block: the state in shared
     * memory with Kt's buffer, without it, then in registers with and without it. Compile definitions given
     * for tuning ({@code -DSTATE_REGS=}, {@code -DKT_BUFFER=}, {@code -DMIN_BLOCKS=}, {@code -DRECUR_WARPS=}:
     * 16 warps a block for 64 value columns, else 8, unless given) override the choice. With bf16 operands and
     * the state in registers the tile products unroll four k-steps ({@code -DMMA_UNROLL=4}; measured on an
     * H200, heads of 256 keys: the recurrence of a 4 x 8192-token prefill 1.48 ms against 2.30 with the
     * kernel's default); {@code mmaUnroll} 0 leaves the kernel's default.
     */
    record RecurLayout(boolean stateInRegisters, boolean ktBuffer, int minBlocks, int warps, int mmaUnroll,
            int sharedBytes) {
        /** Shared memory the driver reserves for each resident block. */
        private static final int RESERVED_PER_BLOCK = 1024;
        /** {state in registers, Kt's own buffer} in the order tried for two blocks, then for one. */
        private static final boolean[][] TWO_BLOCKS = {{false, true}, {true, true}, {true, false}};
        private static final boolean[][] ONE_BLOCK = {{false, true}, {false, false}, {true, true}, {true, false}};

        static RecurLayout choose(int k, ChunkPrecision p, int tile, int sharedPerSm, String... defines) {
            boolean regs = true;
            boolean kt = false;
            int blocks = 1;
            int warps = defined(defines, "RECUR_WARPS").orElse(defaultWarps(k, p, tile));
            if (!stagingFits(k, p, warps)) {
                throw new IllegalArgumentException("RECUR_WARPS " + warps + ": the warps' 16 x 16 fp32 staging tiles ("
                        + warps * 16 * 16 * 4 + " bytes) do not fit a [64, " + k + "] " + p.label()
                        + " operand buffer (" + TC_CHUNK * padded(k) * elemBytes(p) + " bytes); 8 warps do");
            }
            search:
            for (int b = 2; b >= 1; b--) {
                for (boolean[] c : b == 2 ? TWO_BLOCKS : ONE_BLOCK) {
                    int bytes = recurShared(k, p, tile, c[1], c[0], warps);
                    if (bytes <= MAX_SHARED && fits(b, bytes, sharedPerSm)) {
                        regs = c[0];
                        kt = c[1];
                        blocks = b;
                        break search;
                    }
                }
            }
            java.util.OptionalInt ktGiven = defined(defines, "KT_BUFFER");
            regs = defined(defines, "STATE_REGS").orElse(regs ? 1 : 0) != 0;
            blocks = defined(defines, "MIN_BLOCKS").orElse(blocks);
            if (ktGiven.isPresent()) {
                kt = ktGiven.getAsInt() != 0;
            } else if (defines.length > 0) {
                kt = fits(blocks, recurShared(k, p, tile, true, regs, warps), sharedPerSm)
                        && recurShared(k, p, tile, true, regs, warps) <= MAX_SHARED;
            }
            int unroll = defined(defines, "MMA_UNROLL").orElse(p == ChunkPrecision.BF16 && regs ? 4 : 0);
            return new RecurLayout(regs, kt, blocks, warps, unroll, recurShared(k, p, tile, kt, regs, warps));
        }

        /** Warps a block unless told: 16 for 64 value columns where their staging tiles fit, else 8. */
        static int defaultWarps(int k, ChunkPrecision p, int tile) {
            return tile == 64 && stagingFits(k, p, 16) ? 16 : 8;
        }

        /** Whether the final state's staging tiles of {@code warps} warps fit one [C, K] operand buffer (Xb). */
        static boolean stagingFits(int k, ChunkPrecision p, int warps) {
            return TC_CHUNK * padded(k) * elemBytes(p) >= warps * 16 * 16 * 4;
        }

        /** Whether a compile definition is one of those the layout sets. */
        static boolean decides(String define) {
            return define.startsWith("-DSTATE_REGS=") || define.startsWith("-DKT_BUFFER=")
                    || define.startsWith("-DMIN_BLOCKS=") || define.startsWith("-DRECUR_WARPS=")
                    || define.startsWith("-DMMA_UNROLL=");
        }

        private static boolean fits(int blocks, int bytes, int sharedPerSm) {
            return blocks * (bytes + RESERVED_PER_BLOCK) <= sharedPerSm;
        }

        /** Its compile definitions. */
        String[] options() {
            String[] base = {"-DSTATE_REGS=" + (stateInRegisters ? 1 : 0), "-DKT_BUFFER=" + (ktBuffer ? 1 : 0),
                "-DMIN_BLOCKS=" + minBlocks, "-DRECUR_WARPS=" + warps};
            if (mmaUnroll == 0) {
                return base;
            }
            String[] all = java.util.Arrays.copyOf(base, base.length + 1);
            all[base.length] = "-DMMA_UNROLL=" + mmaUnroll;
            return all;
        }
    }

    /**
     * Advances the streams with at least {@code minTokens} tokens over their rows (asynchronous on the
     * launch stream); shorter ones are left untouched.
     *
     * @param streams    N
     * @param rows       tokens of all streams together ({@code offsets[N]})
     * @param longestRun the most tokens one stream has
     */
    public void run(DeltaRuleArrays a, int streams, int rows, int longestRun, float scale, int minTokens) {
        run(a, streams, rows, longestRun, scale, minTokens, true, true);
    }

    /**
     * {@link #run} with the tensor-core forms' launches chosen (for timing each on its own: the recurrence
     * alone reads what the last preparation of the same batch left in scratch).
     */
    void run(DeltaRuleArrays a, int streams, int rows, int longestRun, float scale, int minTokens, boolean prepareStage,
            boolean recurStage) {
        if (streams == 0 || longestRun < Math.max(1, minTokens)) {
            return;
        }
        if (!precision.tensorCores()) {
            args.reset().add(a.q()).add(a.k()).add(a.v()).add(a.g()).add(a.beta()).add(a.offsets()).add(a.slots())
                    .add(a.pool()).add(a.out()).addInt(shape.heads()).addInt(shape.valueHeads())
                    .addInt(shape.valueDim()).addFloat(scale).addInt(minTokens)
                    .launch(function, shape.valueDim() / TILE, shape.valueHeads(), streams, THREADS, 1, 1, sharedBytes);
            return;
        }
        int hv = shape.valueHeads();
        ensureScratch(rows);
        Prepared p = prepared();
        if (prepareStage) {
            args.reset().add(a.q()).add(a.k()).add(a.v()).add(a.g()).add(a.beta()).add(a.offsets()).add(p.w()).add(p.u())
                    .add(p.m()).add(p.qg()).add(p.kt()).add(p.decay()).addInt(shape.heads()).addInt(hv)
                    .addInt(shape.valueDim()).addFloat(scale).addInt(minTokens)
                    .launch(prepare, (longestRun + TC_CHUNK - 1) / TC_CHUNK, hv, streams, THREADS, 1, 1, prepareShared);
        }
        if (!recurStage) {
            return;
        }
        args.reset().add(p.w()).add(p.u()).add(p.m()).add(p.qg()).add(p.kt()).add(p.decay()).add(a.offsets())
                .add(a.slots()).add(a.pool()).add(a.out()).addInt(hv).addInt(shape.valueDim()).addInt(minTokens)
                .launch(function, shape.valueDim() / tile, hv, streams, recurThreads, 1, 1, sharedBytes);
    }

    /**
     * Where the preparation stage leaves its intermediates for the recurrence (device addresses, rows laid
     * out like the inputs, {@code [rows, HV, *]}): -W, Qg, Kt {@code [HV, K]}, U {@code [HV, V]}, M
     * {@code [HV, 64]} in the operands' precision ({@link #operandBytes}), e^gam {@code [HV]} fp32. See
     * {@link dev.gdn.kernels.deltarule.ChunkStages} for what each is.
     */
    record Prepared(long w, long qg, long kt, long u, long m, long decay) {
    }

    /** The intermediates of the last preparation (tensor-core forms; after a {@link #run}). */
    Prepared prepared() {
        if (!precision.tensorCores()) {
            throw new IllegalStateException("the " + precision.label() + " form has no preparation stage");
        }
        if (scratch == 0) {
            throw new IllegalStateException("no preparation has run yet");
        }
        int hv = shape.valueHeads();
        long e = elemBytes(precision);
        long perK = e * scratchRows * hv * shape.keyDim();
        long w = scratch;
        long qg = w + perK;
        long kt = qg + perK;
        long u = kt + perK;
        long m = u + e * scratchRows * hv * shape.valueDim();
        long decay = m + e * scratchRows * hv * TC_CHUNK;
        return new Prepared(w, qg, kt, u, m, decay);
    }

    /** Bytes of one operand element in the preparation's intermediates: 2 (bf16) or 4 (3xTF32's fp32). */
    int operandBytes() {
        return elemBytes(precision);
    }

    /**
     * Scratch for {@code rows} rows of -W, Qg, Kt {@code [HV, K]}, U {@code [HV, V]}, M {@code [HV, 64]}
     * (operand precision) and the decays {@code [HV]} (fp32).
     */
    private void ensureScratch(int rows) {
        if (rows <= scratchRows) {
            return;
        }
        if (scratch != 0) {
            device.synchronize(); // launches queued earlier may still read the old buffer
            device.free(scratch);
            scratch = 0;
        }
        long want = Math.max(rows, scratchRows + scratchRows / 4);
        long bytes = want * shape.valueHeads()
                * (elemBytes(precision) * (3L * shape.keyDim() + shape.valueDim() + TC_CHUNK) + 4);
        scratch = device.allocate(bytes);
        scratchRows = want;
    }

    @Override
    public void close() {
        if (scratch != 0) {
            device.free(scratch);
            scratch = 0;
            scratchRows = 0;
        }
        args.close();
    }
}
