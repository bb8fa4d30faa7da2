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

#include "../layers/gdn/gdn_ops.cuh"

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

#include "../layers/attention/attention_ops.cuh"

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
