#pragma once
// The gated output norm of the delta-rule mixers, one warp a head: per value head of o [heads, V],
// rmsNorm(o) * w * act(gate) with act = silu (Gated DeltaNet) or sigmoid (KDA) (gate may be null: no gate),
// into o, or, when outBf16 is not null, rounded to bfloat16 into outBf16 [heads, V] instead (o left as it
// was: the product that follows reads only the rounded copy). NORM_HEADS heads a block.
#include "gdn_common.cuh"

template <bool SIGMOID>
__device__ __forceinline__ void gated_rmsnorm_heads(float* __restrict__ o, const float* __restrict__ gate,
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
            y *= SIGMOID ? sigmoid_f(gate[base + i]) : silu_f(gate[base + i]);
        }
        if (outBf16 != nullptr) {
            outBf16[base + i] = (unsigned short)bf16_round_bits(y);
        } else {
            o[base + i] = y;
        }
    }
}
