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
    private static final int MAX_SHARED = 200 * 1024;

    private final DeltaRuleShape shape;
    private final int tile;
    private final int sharedBytes;
    private final CUfunc_st function;
    private final LaunchArgs args;

    /**
     * @throws IllegalArgumentException when {@link #supports} is false for the shape
     */
    public CudaChunkedGatedDeltaRule(CudaDevice device, DeltaRuleShape shape) {
        if (!supports(shape)) {
            throw new IllegalArgumentException(shape + " is outside the chunk kernel's shapes (V a multiple of 32, "
                    + "shared memory within " + MAX_SHARED / 1024 + " KiB)");
        }
        this.shape = shape;
        this.tile = tile(shape);
        this.sharedBytes = sharedBytes(shape.keyDim(), tile);
        this.function = device.function("/dev/gdn/kernels/cuda/gated_delta_rule_chunk.cu", "gated_delta_rule_chunk",
                "-DK_DIM=" + shape.keyDim(), "-DCHUNK=" + CHUNK, "-DVT=" + tile);
        device.bind();
        Cuda.check("cuFuncSetAttribute(max dynamic shared memory " + sharedBytes + ")", cudart.cuFuncSetAttribute(
                function, cudart.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes));
        this.args = new LaunchArgs(device);
    }

    /** Whether the kernel handles heads of this shape. */
    public static boolean supports(DeltaRuleShape shape) {
        return tile(shape) > 0 && sharedBytes(shape.keyDim(), tile(shape)) <= MAX_SHARED;
    }

    private static int tile(DeltaRuleShape shape) {
        return shape.valueDim() % 64 == 0 ? 64 : shape.valueDim() % 32 == 0 ? 32 : 0;
    }

    private static int sharedBytes(int k, int vt) {
        return 4 * (2 * CHUNK * (k + 1) + k * vt + 2 * CHUNK * (CHUNK + 1) + 2 * CHUNK * vt + 4 * CHUNK);
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
                .launch(function, shape.valueDim() / tile, shape.valueHeads(), streams, THREADS, 1, 1, sharedBytes);
    }
}
