package dev.gdn.kernels.cuda;

import dev.gdn.kernels.deltarule.DeltaRuleShape;
import org.bytedeco.cuda.cudart.CUfunc_st;

/**
 * The token-by-token gated delta rule on the GPU ({@code gated_delta_rule_recurrent.cu}) for a batch
 * of streams whose states live in a device-resident pool addressed by slot indices: the decay, the
 * delta update and the output read fused, fp32, the state kept in registers over a stream's whole run
 * and updated in place. One token per stream is the decode step.
 *
 * <p>Device arrays as in {@link DeltaRuleArrays}.
 */
public final class CudaRecurrentGatedDeltaRule {
    private static final int KSPLIT = 4;

    private final CudaDevice device;
    private final DeltaRuleShape shape;
    private final CUfunc_st function;
    private final CUfunc_st stepFunction;
    private final LaunchArgs args;
    /** Row slices per block (block (32, split)) and state columns per thread (grid x: V / (32 cols)). */
    private final int split;
    private final int cols;

    /**
     * @throws IllegalArgumentException when K is not a multiple of 4
     */
    public CudaRecurrentGatedDeltaRule(CudaDevice device, DeltaRuleShape shape) {
        this(device, shape, StatePrecision.FP32);
    }

    /**
     * With the pool's states in {@code state} precision.
     *
     * @throws IllegalArgumentException when K is not a multiple of 4
     */
    public CudaRecurrentGatedDeltaRule(CudaDevice device, DeltaRuleShape shape, StatePrecision state) {
        this(device, shape, state, false);
    }

    /**
     * With {@code keyDecay}: Kimi Delta Attention's rule, the log-decay {@code g} of {@link DeltaRuleArrays}
     * given per key channel ({@code [rows, HV, K]}) instead of per head.
     *
     * @throws IllegalArgumentException when K is not a multiple of 4
     */
    public CudaRecurrentGatedDeltaRule(CudaDevice device, DeltaRuleShape shape, StatePrecision state, boolean keyDecay) {
        if (shape.keyDim() % KSPLIT != 0) {
            throw new IllegalArgumentException("keyDim " + shape.keyDim() + " must be a multiple of " + KSPLIT);
        }
        this.device = device;
        this.shape = shape;
        this.args = new LaunchArgs(device);
        this.cols = cols(shape, state);
        this.split = split(shape, state);
        String[] opts = options(shape, state, keyDecay);
        this.function = device.function(SOURCE, "gated_delta_rule_recurrent", opts);
        this.stepFunction = device.function(SOURCE, "gated_delta_rule_step", opts);
    }

    public static final String SOURCE = "/dev/gdn/kernels/cuda/gated_delta_rule_recurrent.cu";

    /**
     * State columns a thread: bf16 states two, so that a warp reads 128 bytes a row (one 4-byte load per two
     * states).
     */
    private static int cols(DeltaRuleShape shape, StatePrecision state) {
        return state == StatePrecision.BF16 && shape.valueDim() % 2 == 0 ? 2 : 1;
    }

    /** Row slices a block: 8 for paired bf16 columns of heads of 256 keys or more (registers in bounds), else 4. */
    private static int split(DeltaRuleShape shape, StatePrecision state) {
        return cols(shape, state) == 2 && shape.keyDim() >= 256 && shape.keyDim() % 8 == 0 ? 8 : KSPLIT;
    }

    /** The compile definitions of this shape and state precision (what {@link KernelBuilds} compiles too). */
    static String[] options(DeltaRuleShape shape, StatePrecision state) {
        return options(shape, state, false);
    }

    /** As {@link #options(DeltaRuleShape, StatePrecision)}, with {@code -DKEY_DECAY} for the per-channel decay. */
    public static String[] options(DeltaRuleShape shape, StatePrecision state, boolean keyDecay) {
        java.util.stream.Stream<String> opts = java.util.stream.Stream.concat(java.util.stream.Stream.of(
                "-DK_DIM=" + shape.keyDim(), "-DKSPLIT=" + split(shape, state), "-DCOLS=" + cols(shape, state)),
                java.util.Arrays.stream(state.options()));
        return (keyDecay ? java.util.stream.Stream.concat(opts, java.util.stream.Stream.of("-DKEY_DECAY")) : opts)
                .toArray(String[]::new);
    }

    /** Advances {@code streams} streams over their rows (asynchronous on the launch stream). */
    public void run(DeltaRuleArrays a, int streams, float scale) {
        run(a, streams, scale, Integer.MAX_VALUE);
    }

    /** As {@link #run}, leaving streams of more than {@code maxTokens} tokens untouched (for the chunk kernel). */
    public void run(DeltaRuleArrays a, int streams, float scale, int maxTokens) {
        args.reset().add(a.q()).add(a.k()).add(a.v()).add(a.g()).add(a.beta()).add(a.offsets()).add(a.slots())
                .add(a.pool()).add(a.out()).addInt(shape.heads()).addInt(shape.valueHeads()).addInt(shape.valueDim())
                .addFloat(scale).addInt(maxTokens)
                .launch(function, (shape.valueDim() + 32 * cols - 1) / (32 * cols), shape.valueHeads(), streams, 32, split,
                        1, 0);
    }

    /**
     * The decode step: exactly one token per stream, row n belonging to stream n ({@code a.offsets()}
     * unused); the same results as {@link #run} with offsets {@code 0..N}.
     */
    public void step(DeltaRuleArrays a, int streams, float scale) {
        args.reset().add(a.q()).add(a.k()).add(a.v()).add(a.g()).add(a.beta()).add(a.slots()).add(a.pool())
                .add(a.out()).addInt(shape.heads()).addInt(shape.valueHeads()).addInt(shape.valueDim()).addFloat(scale)
                .launch(stepFunction, (shape.valueDim() + 32 * cols - 1) / (32 * cols), shape.valueHeads(), streams, 32,
                        split, 1, 0);
    }
}
