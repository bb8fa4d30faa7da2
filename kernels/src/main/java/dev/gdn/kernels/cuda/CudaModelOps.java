package dev.gdn.kernels.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;

/**
 * Launchers for the kernels of {@code model_ops.cu}: embedding gather, RMSNorm with the residual add,
 * short convolution over slot-addressed caches, q/k L2 norms, gates, gated RMSNorm, SwiGLU, bias,
 * bf16 rounding, and sliding-window attention over slot-addressed ring buffers. Every method queues
 * work on the default stream; arguments are device addresses unless said otherwise.
 */
public final class CudaModelOps {
    static final String SOURCE = "/dev/gdn/kernels/cuda/model_ops.cu";
    private static final int ROW_THREADS = 256;
    /** Heads a block of l2norm_heads and gated_rmsnorm normalises, a warp each (NORM_HEADS in model_ops.cu). */
    private static final int NORM_HEADS = 4;
    /** Blocks of the grid-stride elementwise kernels: eight per multiprocessor of the device. */
    private final int elementwiseBlocks;

    private final CudaDevice d;
    private final LaunchArgs args;
    private final CUfunc_st embed;
    private final CUfunc_st addRmsNorm;
    private final CUfunc_st shortConv;
    private final CUfunc_st silu;
    private final CUfunc_st l2Norm;
    private final CUfunc_st gates;
    private final CUfunc_st gatedRmsNorm;
    private final CUfunc_st swiglu;
    private final CUfunc_st swigluBf16;
    private final CUfunc_st addBias;
    private final CUfunc_st toBf16Split;
    private final CUfunc_st toBf16;
    private final CUfunc_st addHalves;
    private final CUfunc_st attention;
    private final CUfunc_st ringAppend;
    private final CUfunc_st scoreRows;
    private final CUfunc_st copyRows;

    /**
     * @param convWidth the model's short convolution width (compiled in)
     */
    CudaModelOps(CudaDevice d, int convWidth) {
        this.d = d;
        this.args = new LaunchArgs(d);
        this.elementwiseBlocks = 8 * d.multiprocessors();
        String w = options(convWidth)[0];
        embed = d.function(SOURCE, "embed_rows", w);
        addRmsNorm = d.function(SOURCE, "add_rmsnorm", w);
        shortConv = d.function(SOURCE, "short_conv", w);
        silu = d.function(SOURCE, "silu_inplace", w);
        l2Norm = d.function(SOURCE, "l2norm_heads", w);
        gates = d.function(SOURCE, "gates", w);
        gatedRmsNorm = d.function(SOURCE, "gated_rmsnorm", w);
        swiglu = d.function(SOURCE, "swiglu", w);
        swigluBf16 = d.function(SOURCE, "swiglu_bf16", w);
        addBias = d.function(SOURCE, "add_bias", w);
        toBf16Split = d.function(SOURCE, "to_bf16_split", w);
        toBf16 = d.function(SOURCE, "to_bf16", w);
        addHalves = d.function(SOURCE, "add_halves", w);
        attention = d.function(SOURCE, "window_attention", w);
        ringAppend = d.function(SOURCE, "ring_append", w);
        scoreRows = d.function(SOURCE, "score_rows", w);
        copyRows = d.function(SOURCE, "copy_rows", w);
    }

    /** The compile definitions for a model's short convolution width (what {@link KernelBuilds} compiles too). */
    public static String[] options(int convWidth) {
        return new String[] {"-DCONV_W=" + convWidth};
    }

    /** {@code h[r] = emb[tokens[r]]}; emb {@code [vocab, D]}, tokens {@code [rows]} int, h {@code [rows, D]}. */
    public void embed(long emb, long tokens, long h, int rows, int dim) {
        args.reset().add(emb).add(tokens).add(h).addInt(dim).launch(embed, rows, 1, 1, ROW_THREADS, 1, 1, 0);
    }

    /**
     * {@code h += y} (y may be 0 for none), then {@code out = rmsNorm(h) * w}; all {@code [rows, D]}. With
     * {@code outBf16} (0 for none) the same values rounded to bf16 go there too ({@code [rows, D]} bf16).
     */
    public void addRmsNorm(long h, long y, long w, long out, long outBf16, int rows, int dim, float eps) {
        args.reset().add(h).add(y).add(w).add(out).add(outBf16).addInt(dim).addFloat(eps)
                .launch(addRmsNorm, rows, 1, 1, ROW_THREADS, 1, 1, 0);
    }

    /**
     * Short convolution + SiLU in place on x {@code [rows, dim]}, continuing each stream's cache.
     *
     * @param cache   {@code [slots, W - 1, dim]}
     * @param slots   {@code [N]} int
     * @param offsets {@code [N + 1]} int
     */
    public void shortConv(long x, long weight, long cache, long slots, long offsets, int streams, int dim) {
        args.reset().add(x).add(weight).add(cache).add(slots).add(offsets).addInt(dim)
                .launch(shortConv, (dim + 127) / 128, streams, 1, 128, 1, 1, 0);
    }

    public void silu(long x, long n) {
        args.reset().add(x).add(n).launch(silu, elementwiseBlocks, 1, 1, 256, 1, 1, 0);
    }

    /** L2-normalises every head of q and k, each {@code [heads, K]}. */
    public void l2NormHeads(long q, long k, int heads, int dim) {
        args.reset().add(q).add(k).addInt(heads).addInt(dim)
                .launch(l2Norm, (heads + NORM_HEADS - 1) / NORM_HEADS, 2, 1, 32 * NORM_HEADS, 1, 1, 0);
    }

    /** g, beta {@code [rows, HV]} from the a, b projections; negA, dtBias {@code [HV]}. */
    public void gates(long a, long b, long negA, long dtBias, long g, long beta, int rows, int hv, float betaScale) {
        int total = rows * hv;
        args.reset().add(a).add(b).add(negA).add(dtBias).add(g).add(beta).addInt(total).addInt(hv)
                .addFloat(betaScale)
                .launch(gates, (total + 255) / 256, 1, 1, 256, 1, 1, 0);
    }

    /**
     * Per head of o {@code [heads, V]}: {@code rmsNorm(o) * w * silu(gate)} (gate 0 for none), in place, or
     * with {@code outBf16} (not 0) rounded to bf16 there instead ({@code [heads, V]} bf16; o unchanged).
     */
    public void gatedRmsNorm(long o, long gate, long w, long outBf16, int heads, int dim, float eps) {
        args.reset().add(o).add(gate).add(w).add(outBf16).addInt(heads).addInt(dim).addFloat(eps)
                .launch(gatedRmsNorm, (heads + NORM_HEADS - 1) / NORM_HEADS, 1, 1, 32 * NORM_HEADS, 1, 1, 0);
    }

    /**
     * {@code gate = silu(gate) * up} over n elements, or with {@code outBf16} (not 0) rounded to bf16 there
     * instead ({@code [n]} bf16; gate unchanged).
     */
    public void swiglu(long gate, long up, long outBf16, long n) {
        args.reset().add(gate).add(up).add(outBf16).add(n).launch(swiglu, elementwiseBlocks, 1, 1, 256, 1, 1, 0);
    }

    /** {@code out = silu(gate) * up} over n elements, all bf16 ({@code [n]} each; fp32 arithmetic, rounded once). */
    public void swigluBf16(long gate, long up, long out, long n) {
        args.reset().add(gate).add(up).add(out).add(n).launch(swigluBf16, elementwiseBlocks, 1, 1, 256, 1, 1, 0);
    }

    public void addBias(long y, long bias, int rows, int cols) {
        args.reset().add(y).add(bias).add((long) rows * cols).addInt(cols)
                .launch(addBias, elementwiseBlocks, 1, 1, 256, 1, 1, 0);
    }

    /** x {@code [n]} fp32 to y {@code [2, n]} bf16: the rounded values, then what rounding left out. */
    public void toBf16Split(long x, long y, long n) {
        args.reset().add(x).add(y).add(n).launch(toBf16Split, elementwiseBlocks, 1, 1, 256, 1, 1, 0);
    }

    /** x {@code [n]} fp32 to y {@code [n]} bf16, rounded to nearest. */
    public void toBf16(long x, long y, long n) {
        args.reset().add(x).add(y).add(n).launch(toBf16, elementwiseBlocks, 1, 1, 256, 1, 1, 0);
    }

    /** {@code y[i] = parts[i] + parts[n + i]}. */
    public void addHalves(long parts, long y, long n) {
        args.reset().add(parts).add(y).add(n).launch(addHalves, elementwiseBlocks, 1, 1, 256, 1, 1, 0);
    }

    /**
     * Sliding-window attention of every stream's rows over its ring and its own rows.
     *
     * @param cached  {@code [N]} int: ring entries in view before the stream's rows
     * @param start   {@code [N]} int: ring slot of the oldest of them
     * @param invFreq {@code [Dh / 2]} double: RoPE inverse frequencies
     */
    public void windowAttention(long q, long k, long v, long ringK, long ringV, long slots, long offsets, long cached,
            long start, long invFreq, long out, int streams, int hq, int hkv, int dh, int window, float scale) {
        int shared = 4 * (dh + window + 128);
        args.reset().add(q).add(k).add(v).add(ringK).add(ringV).add(slots).add(offsets).add(cached).add(start)
                .add(invFreq).add(out).addInt(hq).addInt(hkv).addInt(dh).addInt(window).addFloat(scale)
                .launch(attention, streams, hq, 1, 128, 1, 1, shared);
    }

    /** Appends each stream's k, v rows to its ring; {@code next [N]} int: ring slot of its next position. */
    public void ringAppend(long k, long v, long ringK, long ringV, long slots, long offsets, long next, int streams,
            int window, int row) {
        args.reset().add(k).add(v).add(ringK).add(ringV).add(slots).add(offsets).add(next).addInt(window)
                .addInt(row)
                .launch(ringAppend, streams, 1, 1, 256, 1, 1, 0);
    }

    void close() {
        args.close();
    }

    /** Largest k of {@link #scoreRows}. */
    static final int SCORE_MAX_K = 64;

    /**
     * Per row of {@code logits [rows, vocab]}: log-sum-exp into {@code lse [rows]} (double), the target
     * token's logit into {@code target [rows]} ({@code targets[r] < 0}: none), and for rows with
     * {@code want[r] != 0} the {@code k} largest logits best first into {@code topIds, topLogits [rows, k]}.
     */
    public void scoreRows(long logits, long targets, long want, int rows, int vocab, int k, long lse, long target, long topIds,
            long topLogits) {
        args.reset().add(logits).add(targets).add(want).addInt(vocab).addInt(k).add(lse).add(target).add(topIds)
                .add(topLogits).launch(scoreRows, rows, 1, 1, 256, 1, 1, 0);
    }

    /**
     * {@code dst[dstRows[i]] = src[srcRows[i]]} for {@code i < n}: rows of {@code dim} floats;
     * srcRows, dstRows {@code [n]} int (device).
     */
    public void copyRows(long src, long srcRows, long dst, long dstRows, int n, int dim) {
        if (n > 0) {
            args.reset().add(src).add(srcRows).add(dst).add(dstRows).addInt(dim)
                    .launch(copyRows, n, 1, 1, ROW_THREADS, 1, 1, 0);
        }
    }
}
