// The element-wise, per-row and per-stream operations of a Gated DeltaNet forward pass on the GPU
// (the matrix products go through cuBLAS, the gated delta rule through gated_delta_rule_recurrent.cu).
//
// Rows are the batch's tokens, stream after stream; stream n owns rows [offsets[n], offsets[n+1]).
// Memories live in device pools addressed by slot: slots[n] is stream n's slot. Every reduction has a
// fixed order that depends only on the row's own data, so a stream's results never depend on the
// other streams of its batch.
//
// Compile-time: CONV_W (short convolution width, >= 1).

#ifndef CONV_W
#define CONV_W 4
#endif

#define ROW_THREADS 256
#define CONV_ROWS 8 // rows a short_conv thread loads at once
#define NORM_HEADS 4 // heads (a warp each) a block of l2norm_heads and gated_rmsnorm normalises

#include "gdn_common.cuh"

// Sum over the block in a fixed tree order; blockDim.x == ROW_THREADS.
__device__ float block_sum(float v, float* sh)
{
    const int tid = threadIdx.x;
    sh[tid] = v;
    __syncthreads();
    for (int s = ROW_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) {
            sh[tid] += sh[tid + s];
        }
        __syncthreads();
    }
    const float r = sh[0];
    __syncthreads();
    return r;
}

// Sum over one warp in a fixed butterfly order.
__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

// h[r, :] = emb[tokens[r], :].  Grid (rows), block ROW_THREADS.
extern "C" __global__ void embed_rows(const float* __restrict__ emb, const int* __restrict__ tokens,
                                      float* __restrict__ h, int D)
{
    const size_t r = blockIdx.x;
    const float* src = emb + (size_t)tokens[r] * D;
    for (int i = threadIdx.x; i < D; i += ROW_THREADS) {
        h[r * D + i] = src[i];
    }
}

// h += y (when y is not null), then out = rmsNorm(h) * w, and (when outBf16 is not null) the same
// values rounded to bfloat16 into outBf16: the next matrix product's operand, with no pass of its own.
// Grid (rows), block ROW_THREADS.
extern "C" __global__ void add_rmsnorm(float* __restrict__ h, const float* __restrict__ y,
                                       const float* __restrict__ w, float* __restrict__ out,
                                       unsigned short* __restrict__ outBf16, int D, float eps)
{
    __shared__ float sh[ROW_THREADS];
    const size_t base = (size_t)blockIdx.x * D;
    float ss = 0.f;
    for (int i = threadIdx.x; i < D; i += ROW_THREADS) {
        float x = h[base + i];
        if (y != nullptr) {
            x += y[base + i];
            h[base + i] = x;
        }
        ss = fmaf(x, x, ss);
    }
    ss = block_sum(ss, sh);
    const float inv = (float)(1.0 / sqrt((double)(ss / D) + (double)eps));
    for (int i = threadIdx.x; i < D; i += ROW_THREADS) {
        const float r = (h[base + i] * inv) * w[i];
        out[base + i] = r;
        if (outBf16 != nullptr) {
            outBf16[base + i] = (unsigned short)bf16_round_bits(r);
        }
    }
}

// Depthwise causal convolution of width CONV_W, then SiLU, in place on x [rows, dim], continuing from
// each stream's cache [slots, CONV_W - 1, dim] (oldest first), which is left holding the last inputs.
// Grid (ceil(dim / 128), N), block 128.
extern "C" __global__ void short_conv(float* __restrict__ x, const float* __restrict__ w,
                                      float* __restrict__ cache, const int* __restrict__ slots,
                                      const int* __restrict__ offsets, int dim)
{
    const int n = blockIdx.y;
    const int d = blockIdx.x * 128 + threadIdx.x;
    if (d >= dim) {
        return;
    }
    float* c = cache + (size_t)slots[n] * (CONV_W - 1) * dim;
    float win[CONV_W];
    float wt[CONV_W];
#pragma unroll
    for (int j = 0; j < CONV_W; j++) {
        wt[j] = w[(size_t)d * CONV_W + j];
    }
#pragma unroll
    for (int j = 0; j < CONV_W - 1; j++) {
        win[j] = c[(size_t)j * dim + d];
    }
    // CONV_ROWS rows' inputs loaded at once (each in flight while the others arrive), then convolved: the
    // thread alone reads and writes column d of this stream, so in place is safe
    const int end = offsets[n + 1];
    for (int t0 = offsets[n]; t0 < end; t0 += CONV_ROWS) {
        float in[CONV_ROWS];
#pragma unroll
        for (int u = 0; u < CONV_ROWS; u++) {
            in[u] = t0 + u < end ? x[(size_t)(t0 + u) * dim + d] : 0.f;
        }
#pragma unroll
        for (int u = 0; u < CONV_ROWS; u++) {
            if (t0 + u < end) {
                win[CONV_W - 1] = in[u];
                float s = 0.f;
#pragma unroll
                for (int j = 0; j < CONV_W; j++) {
                    s = fmaf(wt[j], win[j], s);
                }
                x[(size_t)(t0 + u) * dim + d] = silu_f(s);
#pragma unroll
                for (int j = 0; j < CONV_W - 1; j++) {
                    win[j] = win[j + 1];
                }
            }
        }
    }
#pragma unroll
    for (int j = 0; j < CONV_W - 1; j++) {
        c[(size_t)j * dim + d] = win[j];
    }
}

// x = silu(x) over n elements (models without short convolutions).
extern "C" __global__ void silu_inplace(float* __restrict__ x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        x[i] = silu_f(x[i]);
    }
}

// L2 normalisation of every head of q and k ([rows * H, K] each): x / sqrt(sum(x^2) + 1e-6).
// One warp a head, NORM_HEADS heads a block: grid (ceil(heads / NORM_HEADS), 2), block 32 * NORM_HEADS.
extern "C" __global__ void l2norm_heads(float* __restrict__ q, float* __restrict__ k, int heads, int K)
{
    const int head = blockIdx.x * NORM_HEADS + threadIdx.x / 32;
    if (head >= heads) {
        return;
    }
    const int lane = threadIdx.x % 32;
    float* x = (blockIdx.y == 0 ? q : k) + (size_t)head * K;
    float ss = 0.f;
    for (int i = lane; i < K; i += 32) {
        ss = fmaf(x[i], x[i], ss);
    }
    ss = warp_sum(ss);
    const float inv = (float)(1.0 / sqrt((double)(ss + 1e-6f)));
    for (int i = lane; i < K; i += 32) {
        x[i] *= inv;
    }
}

// beta = betaScale * sigmoid(b); g = negA[j] * softplus(a + dtBias[j]) over [rows, HV].
extern "C" __global__ void gates(const float* __restrict__ a, const float* __restrict__ b,
                                 const float* __restrict__ negA, const float* __restrict__ dtBias,
                                 float* __restrict__ g, float* __restrict__ beta, int total, int HV, float betaScale)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) {
        return;
    }
    const int j = i % HV;
    beta[i] = betaScale * (1.0f / (1.0f + expf(-b[i])));
    const float x = a[i] + dtBias[j];
    const float sp = x > 20.f ? x : log1pf(expf(x));
    g[i] = negA[j] * sp;
}

// Per value head of o [rows * HV, V]: rmsNorm(o) * w * silu(gate) (gate may be null), into o, or, when
// outBf16 is not null, rounded to bfloat16 into outBf16 [rows * HV, V] instead (o is left as it was: the
// product that follows reads only the rounded copy). One warp a head, NORM_HEADS heads a block:
// grid (ceil(heads / NORM_HEADS)), block 32 * NORM_HEADS.
extern "C" __global__ void gated_rmsnorm(float* __restrict__ o, const float* __restrict__ gate,
                                         const float* __restrict__ w, unsigned short* __restrict__ outBf16,
                                         int heads, int V, float eps)
{
    const int head = blockIdx.x * NORM_HEADS + threadIdx.x / 32;
    if (head >= heads) {
        return;
    }
    const int lane = threadIdx.x % 32;
    const size_t base = (size_t)head * V;
    float ss = 0.f;
    for (int i = lane; i < V; i += 32) {
        ss = fmaf(o[base + i], o[base + i], ss);
    }
    ss = warp_sum(ss);
    const float inv = (float)(1.0 / sqrt((double)(ss / V) + (double)eps));
    for (int i = lane; i < V; i += 32) {
        float y = (o[base + i] * inv) * w[i];
        if (gate != nullptr) {
            y *= silu_f(gate[base + i]);
        }
        if (outBf16 != nullptr) {
            outBf16[base + i] = (unsigned short)bf16_round_bits(y);
        } else {
            o[base + i] = y;
        }
    }
}

// silu(gate) * up over n elements (SwiGLU), into gate, or, when outBf16 is not null, rounded to bfloat16
// into outBf16 [n] instead (gate is left as it was).
extern "C" __global__ void swiglu(float* __restrict__ gate, const float* __restrict__ up,
                                  unsigned short* __restrict__ outBf16, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float y = silu_f(gate[i]) * up[i];
        if (outBf16 != nullptr) {
            outBf16[i] = (unsigned short)bf16_round_bits(y);
        } else {
            gate[i] = y;
        }
    }
}

// out = silu(gate) * up over n elements, all bfloat16 (fp32 arithmetic, rounded once).
extern "C" __global__ void swiglu_bf16(const unsigned short* __restrict__ gate, const unsigned short* __restrict__ up,
                                       unsigned short* __restrict__ out, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float g = __uint_as_float((unsigned)gate[i] << 16);
        const float u = __uint_as_float((unsigned)up[i] << 16);
        out[i] = (unsigned short)bf16_round_bits(silu_f(g) * u);
    }
}

// y[r, c] += bias[c] over [rows, cols].
extern "C" __global__ void add_bias(float* __restrict__ y, const float* __restrict__ bias, size_t total, int cols)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        y[i] += bias[i % cols];
    }
}

__device__ __forceinline__ unsigned short bf16_bits(float x)
{
    return (unsigned short)bf16_round_bits(x);
}

// Splits fp32 activations x [n] into two bfloat16 parts, hi = bf16(x) in y[0, n) and
// lo = bf16(x - hi) in y[n, 2n): hi + lo carries x to about 16 bits, so a bf16 matrix product over
// both (fp32 sums) loses almost nothing to the activations; only the weights are bf16.
extern "C" __global__ void to_bf16_split(const float* __restrict__ x, unsigned short* __restrict__ y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const unsigned short hi = bf16_bits(x[i]);
        y[i] = hi;
        y[n + i] = bf16_bits(x[i] - __uint_as_float((unsigned int)hi << 16));
    }
}

// Rounds fp32 activations x [n] to bfloat16 y [n] (nearest, ties to even).
extern "C" __global__ void to_bf16(const float* __restrict__ x, unsigned short* __restrict__ y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        y[i] = bf16_bits(x[i]);
    }
}

// y[i] = parts[i] + parts[n + i]: the two halves of a split product added.
extern "C" __global__ void add_halves(const float* __restrict__ parts, float* __restrict__ y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        y[i] = parts[i] + parts[n + i];
    }
}

// Rotates the pair (x1, x2) by angle p * invFreq (angle in double, as the CPU does).
__device__ __forceinline__ void rope_pair(float x1, float x2, double p, double invFreq, float& y1, float& y2)
{
    const double a = p * invFreq;
    const float c = (float)cos(a);
    const float s = (float)sin(a);
    y1 = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
    y2 = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
}

// Causal sliding-window attention over each stream's ring buffer and its new rows.
// The keys in view are, oldest first, the cached[n] ring entries (ring slot (start[n] + i) % W) and
// then the stream's rows; RoPE positions count from the oldest key in view. Query t sees the last W
// keys up to its own.  q, out: [rows, Hq * Dh]; k, v: [rows, Hkv * Dh]; rings: [slots, W, Hkv * Dh].
// Grid (N, Hq), block 128, dynamic shared memory (Dh + W + 128) floats.
extern "C" __global__ void window_attention(const float* __restrict__ q, const float* __restrict__ k,
                                            const float* __restrict__ v, const float* __restrict__ ringK,
                                            const float* __restrict__ ringV, const int* __restrict__ slots,
                                            const int* __restrict__ offsets, const int* __restrict__ cached,
                                            const int* __restrict__ start, const double* __restrict__ invFreq,
                                            float* __restrict__ out, int Hq, int Hkv, int Dh, int W, float scale)
{
    extern __shared__ float smem[];
    float* qr = smem;
    float* scores = smem + Dh;
    float* red = scores + W;
    const int n = blockIdx.x;
    const int h = blockIdx.y;
    const int kvh = h / (Hq / Hkv);
    const int tid = threadIdx.x;
    const int half = Dh / 2;
    const int qRow = Hq * Dh;
    const int kvRow = Hkv * Dh;
    const int r0 = offsets[n];
    const int len = offsets[n + 1] - r0;
    const int nc = cached[n];
    const float* rk = ringK + (size_t)slots[n] * W * kvRow;
    const float* rv = ringV + (size_t)slots[n] * W * kvRow;

    for (int t = 0; t < len; t++) {
        const int pos = nc + t;
        const int lo = max(0, pos - W + 1);
        const int count = pos - lo + 1;
        const float* qh = q + (size_t)(r0 + t) * qRow + h * Dh;
        for (int i = tid; i < half; i += blockDim.x) {
            rope_pair(qh[i], qh[i + half], (double)pos, invFreq[i], qr[i], qr[i + half]);
        }
        __syncthreads();
        float m = -__int_as_float(0x7f800000);
        for (int e = tid; e < count; e += blockDim.x) {
            const int ke = lo + e;
            const float* kr = ke < nc ? rk + (size_t)((start[n] + ke) % W) * kvRow + kvh * Dh
                                      : k + (size_t)(r0 + ke - nc) * kvRow + kvh * Dh;
            float dot = 0.f;
            for (int i = 0; i < half; i++) {
                float k1, k2;
                rope_pair(kr[i], kr[i + half], (double)ke, invFreq[i], k1, k2);
                dot = fmaf(qr[i], k1, dot);
                dot = fmaf(qr[i + half], k2, dot);
            }
            const float sc = dot * scale;
            scores[e] = sc;
            m = fmaxf(m, sc);
        }
        red[tid] = m;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (tid < s) {
                red[tid] = fmaxf(red[tid], red[tid + s]);
            }
            __syncthreads();
        }
        m = red[0];
        __syncthreads();
        float sum = 0.f;
        for (int e = tid; e < count; e += blockDim.x) {
            const float p = expf(scores[e] - m);
            scores[e] = p;
            sum += p;
        }
        red[tid] = sum;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (tid < s) {
                red[tid] += red[tid + s];
            }
            __syncthreads();
        }
        const float inv = 1.0f / red[0];
        for (int d = tid; d < Dh; d += blockDim.x) {
            float acc = 0.f;
            for (int e = 0; e < count; e++) {
                const int ke = lo + e;
                const float* vr = ke < nc ? rv + (size_t)((start[n] + ke) % W) * kvRow + kvh * Dh
                                          : v + (size_t)(r0 + ke - nc) * kvRow + kvh * Dh;
                acc = fmaf(scores[e] * inv, vr[d], acc);
            }
            out[(size_t)(r0 + t) * qRow + h * Dh + d] = acc;
        }
        __syncthreads();
    }
}

// Appends each stream's new k, v rows to its ring ([slots, W, row]); the next position of stream n
// lands in slot (next[n] + t) % W. Only the last W rows of a run survive. Grid (N), block 256.
extern "C" __global__ void ring_append(const float* __restrict__ k, const float* __restrict__ v,
                                       float* __restrict__ ringK, float* __restrict__ ringV,
                                       const int* __restrict__ slots, const int* __restrict__ offsets,
                                       const int* __restrict__ next, int W, int row)
{
    const int n = blockIdx.x;
    const int r0 = offsets[n];
    const int len = offsets[n + 1] - r0;
    float* rk = ringK + (size_t)slots[n] * W * row;
    float* rv = ringV + (size_t)slots[n] * W * row;
    for (int t = max(0, len - W); t < len; t++) {
        const size_t dst = (size_t)((next[n] + t) % W) * row;
        const size_t src = (size_t)(r0 + t) * row;
        for (int i = threadIdx.x; i < row; i += blockDim.x) {
            rk[dst + i] = k[src + i];
            rv[dst + i] = v[src + i];
        }
    }
}

// ---- scoring: what a result needs from each row of logits, without copying the logits out ----

#define SCORE_THREADS 256
#define SCORE_MAX_K 64

// Per row of logits [rows, V]: the log-sum-exp (in double, as the CPU does), the logit of the row's
// target token (targets[r] < 0: none) and, for rows with want[r] != 0, the k largest logits best first
// (ties: the lower token id first). One block of SCORE_THREADS threads per row.
// lse: [rows] double; target: [rows]; topIds, topLogits: [rows, k].
extern "C" __global__ void score_rows(const float* __restrict__ logits, const int* __restrict__ targets,
                                      const int* __restrict__ want, int vocab, int k, double* __restrict__ lse,
                                      float* __restrict__ target, int* __restrict__ topIds,
                                      float* __restrict__ topLogits)
{
    __shared__ float sv[SCORE_THREADS];
    __shared__ int si[SCORE_THREADS];
    __shared__ double sd[SCORE_THREADS];
    __shared__ int chosen[SCORE_MAX_K];
    const int row = blockIdx.x;
    const int t = threadIdx.x;
    const float* x = logits + (size_t)row * vocab;

    float m = __int_as_float(0xff800000); // -inf (NVRTC has no math headers)
    for (int i = t; i < vocab; i += SCORE_THREADS) m = fmaxf(m, x[i]);
    sv[t] = m;
    __syncthreads();
    for (int s = SCORE_THREADS / 2; s > 0; s >>= 1) {
        if (t < s) sv[t] = fmaxf(sv[t], sv[t + s]);
        __syncthreads();
    }
    m = sv[0];
    __syncthreads();

    double sum = 0;
    for (int i = t; i < vocab; i += SCORE_THREADS) sum += exp((double)(x[i] - m));
    sd[t] = sum;
    __syncthreads();
    for (int s = SCORE_THREADS / 2; s > 0; s >>= 1) {
        if (t < s) sd[t] += sd[t + s];
        __syncthreads();
    }
    if (t == 0) {
        lse[row] = (double)m + log(sd[0]);
        const int tg = targets[row];
        target[row] = tg >= 0 ? x[tg] : 0.0f;
    }
    if (!want[row]) return;

    for (int j = 0; j < k; j++) {
        float best = __int_as_float(0xff800000);
        int bestId = 0x7fffffff;
        for (int i = t; i < vocab; i += SCORE_THREADS) {
            bool taken = false;
            for (int c = 0; c < j; c++) taken |= chosen[c] == i;
            const float v = x[i];
            if (!taken && (v > best || (v == best && i < bestId))) {
                best = v;
                bestId = i;
            }
        }
        sv[t] = best;
        si[t] = bestId;
        __syncthreads();
        for (int s = SCORE_THREADS / 2; s > 0; s >>= 1) {
            if (t < s) {
                const float v = sv[t + s];
                const int id = si[t + s];
                if (v > sv[t] || (v == sv[t] && id < si[t])) {
                    sv[t] = v;
                    si[t] = id;
                }
            }
            __syncthreads();
        }
        if (t == 0) {
            chosen[j] = si[0];
            topIds[(size_t)row * k + j] = si[0];
            topLogits[(size_t)row * k + j] = sv[0];
        }
        __syncthreads();
    }
}

// dst[dstRows[i], :] = src[srcRows[i], :] for i < n (rows of width dim). Grid (n), block ROW_THREADS.
extern "C" __global__ void copy_rows(const float* __restrict__ src, const int* __restrict__ srcRows,
                                     float* __restrict__ dst, const int* __restrict__ dstRows, int dim)
{
    const float* s = src + (size_t)srcRows[blockIdx.x] * dim;
    float* o = dst + (size_t)dstRows[blockIdx.x] * dim;
    for (int i = threadIdx.x; i < dim; i += ROW_THREADS) o[i] = s[i];
}
