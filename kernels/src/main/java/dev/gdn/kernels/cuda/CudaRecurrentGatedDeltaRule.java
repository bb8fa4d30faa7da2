package dev.gdn.kernels.cuda;

import dev.gdn.kernels.deltarule.DeltaRuleShape;
import org.bytedeco.cuda.cudart.CUfunc_st;

/**
 * The token-by-token gated delta rule on the GPU ({@code gated_delta_rule_recurrent.cu}) for a batch
 * of streams whose states live in a device-resident pool addressed by slot indices: the decay, the
 * delta update and the output read fused, fp32, the state kept in registers over a stream's whole run
 * and updated in place. One token per stream is the decode step.
 *
 * <p>Device arrays (addresses from {@link CudaDevice#allocate}): {@code q, k: [rows, H, K]}
 * (L2-normalised), {@code v: [rows, HV, V]}, {@code g, beta: [rows, HV]}, {@code offsets: [N + 1]}
 * (int; stream n owns rows {@code [offsets[n], offsets[n+1])}), {@code slots: [N]} (int),
 * {@code pool: [slots, HV, K, V]}, {@code out: [rows, HV, V]}.
 */
public final class CudaRecurrentGatedDeltaRule {
    private static final int KSPLIT = 4;

    private final CudaDevice device;
    private final DeltaRuleShape shape;
    private final CUfunc_st function;
    private final CUfunc_st stepFunction;
    private final LaunchArgs args;

    /**
     * @throws IllegalArgumentException when K is not a multiple of 4
     */
    public CudaRecurrentGatedDeltaRule(CudaDevice device, DeltaRuleShape shape) {
        if (shape.keyDim() % KSPLIT != 0) {
            throw new IllegalArgumentException("keyDim " + shape.keyDim() + " must be a multiple of " + KSPLIT);
        }
        this.device = device;
        this.shape = shape;
        this.args = new LaunchArgs(device);
        String src = "/dev/gdn/kernels/cuda/gated_delta_rule_recurrent.cu";
        this.function = device.function(src, "gated_delta_rule_recurrent", "-DK_DIM=" + shape.keyDim(),
                "-DKSPLIT=" + KSPLIT);
        this.stepFunction = device.function(src, "gated_delta_rule_step", "-DK_DIM=" + shape.keyDim(),
                "-DKSPLIT=" + KSPLIT);
    }

    /** Advances {@code streams} streams over their rows (asynchronous on the default stream). */
    public void run(int streams, long q, long k, long v, long g, long beta, long offsets, long slots, long pool,
            long out, float scale) {
        run(streams, q, k, v, g, beta, offsets, slots, pool, out, scale, Integer.MAX_VALUE);
    }

    /** As {@link #run}, leaving streams of more than {@code maxTokens} tokens untouched (for the chunk kernel). */
    public void run(int streams, long q, long k, long v, long g, long beta, long offsets, long slots, long pool,
            long out, float scale, int maxTokens) {
        args.reset().add(q).add(k).add(v).add(g).add(beta).add(offsets).add(slots).add(pool).add(out)
                .addInt(shape.heads()).addInt(shape.valueHeads()).addInt(shape.valueDim()).addFloat(scale)
                .addInt(maxTokens)
                .launch(function, (shape.valueDim() + 31) / 32, shape.valueHeads(), streams, 32, KSPLIT, 1, 0);
    }

    /**
     * The decode step: exactly one token per stream, row n belonging to stream n (no offsets);
     * the same results as {@link #run} with offsets {@code 0..N}.
     */
    public void step(int streams, long q, long k, long v, long g, long beta, long slots, long pool, long out,
            float scale) {
        args.reset().add(q).add(k).add(v).add(g).add(beta).add(slots).add(pool).add(out).addInt(shape.heads())
                .addInt(shape.valueHeads()).addInt(shape.valueDim()).addFloat(scale)
                .launch(stepFunction, (shape.valueDim() + 31) / 32, shape.valueHeads(), streams, 32, KSPLIT, 1, 0);
    }
}
