// Kimi Delta Attention's own element-wise kernels (the projections, short convolutions, q/k norms and the
// recurrence are shared with Gated DeltaNet): the per-channel decays and write strengths, and the
// sigmoid-gated output norm.

#include "../../cuda/gdn_common.cuh"

#define NORM_HEADS 4 // heads (a warp each) a block of kda_gated_rmsnorm normalises

__device__ __forceinline__ float sigmoid_f(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

__device__ __forceinline__ float kda_warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

// In place over g [rows, HV, K] (the f projection's output): with f = g + dtBias[j, c],
//   g = a[j] * softplus(f)                      (a = -exp(A_log): the plain gate), or
//   g = lower * sigmoid(a[j] * f)               (a = exp(A_log), lower < 0: the bounded gate, lower != 0);
// and over b [rows, HV] in place: beta = betaScale * sigmoid(b). Grid-stride over rows * HV * K.
extern "C" __global__ void kda_gates(float* __restrict__ g, float* __restrict__ b, const float* __restrict__ a,
                                     const float* __restrict__ dtBias, int rows, int HV, int K, float betaScale,
                                     float lower)
{
    const size_t total = (size_t)rows * HV * K;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const int jc = (int)(i % ((size_t)HV * K));
        const int j = jc / K;
        const float f = g[i] + dtBias[jc];
        if (lower != 0.f) {
            g[i] = lower * sigmoid_f(a[j] * f);
        } else {
            g[i] = a[j] * (f > 20.f ? f : log1pf(expf(f)));
        }
        if (jc % K == 0) {
            const size_t bi = i / K;
            b[bi] = betaScale * sigmoid_f(b[bi]);
        }
    }
}

// Per value head of o [rows * HV, V]: rmsNorm(o) * w * sigmoid(gate), into o, or, when outBf16 is not
// null, rounded to bfloat16 into outBf16 [rows * HV, V] instead (o left as it was). One warp a head,
// NORM_HEADS heads a block: grid (ceil(heads / NORM_HEADS)), block 32 * NORM_HEADS.
extern "C" __global__ void kda_gated_rmsnorm(float* __restrict__ o, const float* __restrict__ gate,
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
    ss = kda_warp_sum(ss);
    const float inv = (float)(1.0 / sqrt((double)(ss / V) + (double)eps));
    for (int i = lane; i < V; i += 32) {
        const float y = (o[base + i] * inv) * w[i] * sigmoid_f(gate[base + i]);
        if (outBf16 != nullptr) {
            outBf16[base + i] = (unsigned short)bf16_round_bits(y);
        } else {
            o[base + i] = y;
        }
    }
}
