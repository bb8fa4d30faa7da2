// Kimi Delta Attention's own element-wise kernels (the projections, short convolutions, q/k norms and the
// recurrence are shared with Gated DeltaNet): the per-channel decays and write strengths, and the
// sigmoid-gated output norm.

#include "../../cuda/gdn_common.cuh"

#define NORM_HEADS 4 // heads (a warp each) a block of kda_gated_rmsnorm normalises
#include "../../cuda/gated_norm.cuh"

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

// Per value head of o [rows * HV, V]: rmsNorm(o) * w * sigmoid(gate), into o or rounded to bf16 into
// outBf16 (gated_norm.cuh). Grid (ceil(heads / NORM_HEADS)), block 32 * NORM_HEADS.
extern "C" __global__ void kda_gated_rmsnorm(float* __restrict__ o, const float* __restrict__ gate,
                                             const float* __restrict__ w, unsigned short* __restrict__ outBf16,
                                             int heads, int V, float eps)
{
    gated_rmsnorm_heads<true>(o, gate, w, outBf16, heads, V, eps);
}
