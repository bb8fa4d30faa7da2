package dev.gdn.kernels.cuda;

import dev.gdn.kernels.deltarule.DeltaRuleShape;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.global.cudart;

/**
 * The gated delta rule in chunkwise (WY) form on the GPU ({@code gated_delta_rule_chunk.cu}): each
 * stream's run is cut into chunks of {@value #CHUNK} tokens whose intra-chunk products replace the
 * token-by-token recurrence, fp32 throughout, states in the same slot-addressed pool as
 * {@link CudaRecurrentGatedDeltaRule}. Varlen in one launch; bitwise batch-invariant.
 *
 * <p>Device arrays as in {@link CudaRecurrentGatedDeltaRule}.
 */
public final class CudaChunkedGatedDeltaRule {
    /** Tokens per chunk. */
    public static final int CHUNK = 32;
    private static final int THREADS = 256;
    /** Value columns of the state a block owns. */
    private static final int TILE = 64;
    private static final int MAX_SHARED = 200 * 1024;

    private final DeltaRuleShape shape;
    private final int sharedBytes;
    private final CUfunc_st function;
    private final LaunchArgs args;

    /**
     * @throws IllegalArgumentException when {@link #supports} is false for the shape
     */
    public CudaChunkedGatedDeltaRule(CudaDevice device, DeltaRuleShape shape) {
        if (!supports(shape)) {
            throw new IllegalArgumentException(shape + " is outside the chunk kernel's shapes (K a multiple of 16, "
                    + "V of 64, shared memory within " + MAX_SHARED / 1024 + " KiB)");
        }
        this.shape = shape;
        this.sharedBytes = sharedBytes(shape.keyDim());
        this.function = device.function("/dev/gdn/kernels/cuda/gated_delta_rule_chunk.cu", "gated_delta_rule_chunk",
                "-DK_DIM=" + shape.keyDim());
        device.bind();
        Cuda.check("cuFuncSetAttribute(max dynamic shared memory " + sharedBytes + ")", cudart.cuFuncSetAttribute(
                function, cudart.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes));
        this.args = new LaunchArgs(device);
    }

    /** Whether the kernel handles heads of this shape. */
    public static boolean supports(DeltaRuleShape shape) {
        return shape.keyDim() % 16 == 0 && shape.valueDim() % TILE == 0 && sharedBytes(shape.keyDim()) <= MAX_SHARED;
    }

    /** Ks, Qs {@code [C, K+4]}, the state slice {@code [K, 64]}, U {@code [C, 64]}, A, M {@code [C, C+1]}, 4 x {@code [C]}. */
    private static int sharedBytes(int k) {
        return 4 * (2 * CHUNK * (k + 4) + k * TILE + CHUNK * TILE + 2 * CHUNK * (CHUNK + 1) + 4 * CHUNK);
    }

    /**
     * Advances the streams with at least {@code minTokens} tokens over their rows (asynchronous on the
     * default stream); shorter ones are left untouched.
     */
    public void run(int streams, long q, long k, long v, long g, long beta, long offsets, long slots, long pool,
            long out, float scale, int minTokens) {
        args.reset().add(q).add(k).add(v).add(g).add(beta).add(offsets).add(slots).add(pool).add(out)
                .addInt(shape.heads()).addInt(shape.valueHeads()).addInt(shape.valueDim()).addFloat(scale)
                .addInt(minTokens)
                .launch(function, shape.valueDim() / TILE, shape.valueHeads(), streams, THREADS, 1, 1, sharedBytes);
    }
}
