package dev.gdn.kernels.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Launchers for the kernels of {@code model_ops.cu}: embedding gather, RMSNorm with the residual add,
 * short convolution over slot-addressed caches, q/k L2 norms, gates, gated RMSNorm, SwiGLU, bias,
 * bf16 rounding, and sliding-window attention over slot-addressed ring buffers. Every method queues
 * work on the default stream; arguments are device addresses unless said otherwise.
 */
final class CudaModelOps {
    private static final String SOURCE = "/dev/gdn/kernels/cuda/model_ops.cu";
    private static final int ROW_THREADS = 256;
    private static final int ELEMENTWISE_BLOCKS = 132 * 8;

    private final CudaDevice d;
    private final CUfunc_st embed;
    private final CUfunc_st addRmsNorm;
    private final CUfunc_st shortConv;
    private final CUfunc_st silu;
    private final CUfunc_st l2Norm;
    private final CUfunc_st gates;
    private final CUfunc_st gatedRmsNorm;
    private final CUfunc_st swiglu;
    private final CUfunc_st addBias;
    private final CUfunc_st toBf16Split;
    private final CUfunc_st addHalves;
    private final CUfunc_st attention;
    private final CUfunc_st ringAppend;

    /**
     * @param convWidth the model's short convolution width (compiled in)
     */
    CudaModelOps(CudaDevice d, int convWidth) {
        this.d = d;
        String w = "-DCONV_W=" + convWidth;
        embed = d.function(SOURCE, "embed_rows", w);
        addRmsNorm = d.function(SOURCE, "add_rmsnorm", w);
        shortConv = d.function(SOURCE, "short_conv", w);
        silu = d.function(SOURCE, "silu_inplace", w);
        l2Norm = d.function(SOURCE, "l2norm_heads", w);
        gates = d.function(SOURCE, "gates", w);
        gatedRmsNorm = d.function(SOURCE, "gated_rmsnorm", w);
        swiglu = d.function(SOURCE, "swiglu", w);
        addBias = d.function(SOURCE, "add_bias", w);
        toBf16Split = d.function(SOURCE, "to_bf16_split", w);
        addHalves = d.function(SOURCE, "add_halves", w);
        attention = d.function(SOURCE, "window_attention", w);
        ringAppend = d.function(SOURCE, "ring_append", w);
    }

    /** {@code h[r] = emb[tokens[r]]}; emb {@code [vocab, D]}, tokens {@code [rows]} int, h {@code [rows, D]}. */
    void embed(long emb, long tokens, long h, int rows, int dim) {
        d.launch(embed, grid(rows), block(ROW_THREADS), p(emb), p(tokens), p(h), i(dim));
    }

    /** {@code h += y} (y may be 0 for none), then {@code out = rmsNorm(h) * w}; all {@code [rows, D]}. */
    void addRmsNorm(long h, long y, long w, long out, int rows, int dim, float eps) {
        d.launch(addRmsNorm, grid(rows), block(ROW_THREADS), p(h), p(y), p(w), p(out), i(dim), f(eps));
    }

    /**
     * Short convolution + SiLU in place on x {@code [rows, dim]}, continuing each stream's cache.
     *
     * @param cache   {@code [slots, W - 1, dim]}
     * @param slots   {@code [N]} int
     * @param offsets {@code [N + 1]} int
     */
    void shortConv(long x, long weight, long cache, long slots, long offsets, int streams, int dim) {
        d.launch(shortConv, new int[] {(dim + 127) / 128, streams, 1}, block(128), p(x), p(weight), p(cache), p(slots),
                p(offsets), i(dim));
    }

    void silu(long x, long n) {
        d.launch(silu, grid(ELEMENTWISE_BLOCKS), block(256), p(x), l(n));
    }

    /** L2-normalises every head of q and k, each {@code [heads, K]}. */
    void l2NormHeads(long q, long k, int heads, int dim) {
        d.launch(l2Norm, new int[] {heads, 2, 1}, block(32), p(q), p(k), i(dim));
    }

    /** g, beta {@code [rows, HV]} from the a, b projections; negA, dtBias {@code [HV]}. */
    void gates(long a, long b, long negA, long dtBias, long g, long beta, int rows, int hv, float betaScale) {
        int total = rows * hv;
        d.launch(gates, grid((total + 255) / 256), block(256), p(a), p(b), p(negA), p(dtBias), p(g), p(beta),
                i(total), i(hv), f(betaScale));
    }

    /** Per head of o {@code [heads, V]}: {@code rmsNorm(o) * w * silu(gate)}; gate 0 for none. */
    void gatedRmsNorm(long o, long gate, long w, int heads, int dim, float eps) {
        d.launch(gatedRmsNorm, grid(heads), block(32), p(o), p(gate), p(w), i(dim), f(eps));
    }

    void swiglu(long gate, long up, long n) {
        d.launch(swiglu, grid(ELEMENTWISE_BLOCKS), block(256), p(gate), p(up), l(n));
    }

    void addBias(long y, long bias, int rows, int cols) {
        d.launch(addBias, grid(ELEMENTWISE_BLOCKS), block(256), p(y), p(bias), l((long) rows * cols), i(cols));
    }

    /** x {@code [n]} fp32 to y {@code [2, n]} bf16: the rounded values, then what rounding left out. */
    void toBf16Split(long x, long y, long n) {
        d.launch(toBf16Split, grid(ELEMENTWISE_BLOCKS), block(256), p(x), p(y), l(n));
    }

    /** {@code y[i] = parts[i] + parts[n + i]}. */
    void addHalves(long parts, long y, long n) {
        d.launch(addHalves, grid(ELEMENTWISE_BLOCKS), block(256), p(parts), p(y), l(n));
    }

    /**
     * Sliding-window attention of every stream's rows over its ring and its own rows.
     *
     * @param cached  {@code [N]} int: ring entries in view before the stream's rows
     * @param start   {@code [N]} int: ring slot of the oldest of them
     * @param invFreq {@code [Dh / 2]} double: RoPE inverse frequencies
     */
    void windowAttention(long q, long k, long v, long ringK, long ringV, long slots, long offsets, long cached,
            long start, long invFreq, long out, int streams, int hq, int hkv, int dh, int window, float scale) {
        int shared = 4 * (dh + window + 128);
        d.launch(attention, new int[] {streams, hq, 1}, block(128), shared, p(q), p(k), p(v), p(ringK), p(ringV),
                p(slots), p(offsets), p(cached), p(start), p(invFreq), p(out), i(hq), i(hkv), i(dh), i(window),
                f(scale));
    }

    /** Appends each stream's k, v rows to its ring; {@code next [N]} int: ring slot of its next position. */
    void ringAppend(long k, long v, long ringK, long ringV, long slots, long offsets, long next, int streams,
            int window, int row) {
        d.launch(ringAppend, grid(streams), block(256), p(k), p(v), p(ringK), p(ringV), p(slots), p(offsets), p(next),
                i(window), i(row));
    }

    private static int[] grid(int x) {
        return new int[] {x, 1, 1};
    }

    private static int[] block(int x) {
        return new int[] {x, 1, 1};
    }

    private static Pointer p(long address) {
        return new LongPointer(1).put(address);
    }

    private static Pointer l(long value) {
        return new LongPointer(1).put(value);
    }

    private static Pointer i(int value) {
        return new IntPointer(1).put(value);
    }

    private static Pointer f(float value) {
        return new FloatPointer(1).put(value);
    }
}
