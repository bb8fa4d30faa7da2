// Device helpers shared by the kernels of this folder, which include this file by its quoted name; the
// engine inlines project headers before NVRTC compiles a kernel (nvcc: -I this folder).
#pragma once

__device__ __forceinline__ float silu_f(float x)
{
    return x / (1.0f + expf(-x));
}

__device__ __forceinline__ float sigmoid_f(float x)
{
    return 1.0f / (1.0f + expf(-x));
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

// fp32 to bfloat16 bits, rounding to nearest even (NaN payloads are not preserved).
__device__ __forceinline__ unsigned bf16_round_bits(float x)
{
    const unsigned u = __float_as_uint(x);
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

// How the Gated DeltaNet states live in the pool: fp32, or bf16 with STATE_BF16 (read into fp32,
// rounded to nearest even on write). state_get/state_put one state, state_ld4/state_st4 four in a row.
#ifdef STATE_BF16
typedef unsigned short state_t;
__device__ __forceinline__ float state_get(const state_t* p)
{
    return __uint_as_float(((unsigned)*p) << 16);
}
__device__ __forceinline__ void state_put(state_t* p, float v)
{
    *p = (unsigned short)bf16_round_bits(v);
}
__device__ __forceinline__ float4 state_ld4(const state_t* p)
{
    const uint2 w = *reinterpret_cast<const uint2*>(p);
    return make_float4(__uint_as_float(w.x << 16), __uint_as_float(w.x & 0xffff0000u), __uint_as_float(w.y << 16),
                       __uint_as_float(w.y & 0xffff0000u));
}
__device__ __forceinline__ void state_st4(state_t* p, float4 v)
{
    *reinterpret_cast<uint2*>(p) = make_uint2(bf16_round_bits(v.x) | (bf16_round_bits(v.y) << 16),
                                              bf16_round_bits(v.z) | (bf16_round_bits(v.w) << 16));
}
#else
typedef float state_t;
__device__ __forceinline__ float state_get(const state_t* p)
{
    return *p;
}
__device__ __forceinline__ void state_put(state_t* p, float v)
{
    *p = v;
}
__device__ __forceinline__ float4 state_ld4(const state_t* p)
{
    return *reinterpret_cast<const float4*>(p);
}
__device__ __forceinline__ void state_st4(state_t* p, float4 v)
{
    *reinterpret_cast<float4*>(p) = v;
}
#endif
