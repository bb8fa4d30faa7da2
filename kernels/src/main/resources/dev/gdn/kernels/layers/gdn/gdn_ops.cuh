#pragma once
// The Gated DeltaNet mixer's own element-wise and per-head operations of model_ops.cu (included at
// their place in it, after its reductions): the short convolutions, the q/k head norms, the gates and
// the gated output norm.
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

// Per value head of o [rows * HV, V]: rmsNorm(o) * w * silu(gate) (gate may be null), into o or rounded
// to bf16 into outBf16 (gated_norm.cuh). Grid (ceil(heads / NORM_HEADS)), block 32 * NORM_HEADS.
#include "../../cuda/gated_norm.cuh"
extern "C" __global__ void gated_rmsnorm(float* __restrict__ o, const float* __restrict__ gate,
                                         const float* __restrict__ w, unsigned short* __restrict__ outBf16,
                                         int heads, int V, float eps)
{
    gated_rmsnorm_heads<false>(o, gate, w, outBf16, heads, V, eps);
}
