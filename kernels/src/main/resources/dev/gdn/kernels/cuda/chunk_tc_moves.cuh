#pragma once
// Data movement of gated_delta_rule_chunk_tc.cu (included after its configuration): elem loads and
// stores, asynchronous copies of rows into shared memory, batched row loads and stores, and the index
// walks over the lower triangle of a chunk's blocks.
// Four values stored as elem (8 bytes in bf16, 16 in fp32).
__device__ __forceinline__ void st_elem4(elem* p, float4 x)
{
#if PREC_BF16
    __nv_bfloat162 a = __floats2bfloat162_rn(x.x, x.y);
    __nv_bfloat162 b = __floats2bfloat162_rn(x.z, x.w);
    uint2 u;
    u.x = *reinterpret_cast<unsigned*>(&a);
    u.y = *reinterpret_cast<unsigned*>(&b);
    *reinterpret_cast<uint2*>(p) = u;
#else
    *reinterpret_cast<float4*>(p) = x;
#endif
}

// Four elem values as fp32.
__device__ __forceinline__ float4 ld_elem4(const elem* p)
{
#if PREC_BF16
    const uint2 u = *reinterpret_cast<const uint2*>(p);
    return make_float4(__uint_as_float(u.x << 16), __uint_as_float(u.x & 0xffff0000u), __uint_as_float(u.y << 16),
                       __uint_as_float(u.y & 0xffff0000u));
#else
    return *reinterpret_cast<const float4*>(p);
#endif
}

__device__ __forceinline__ float4 scale4(float4 x, float m)
{
    return make_float4(x.x * m, x.y * m, x.z * m, x.w * m);
}

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem)
{
    const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
}

__device__ __forceinline__ void cp_async_wait_all()
{
    asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::);
}

// Starts copying rows [0, cn) of COLS elem columns (row t at src + t * stride) into dst [C][ld]; rows
// past cn are zeroed here. Complete after cp_async_wait_all() and a barrier.
template <int COLS, int NT = THREADS>
__device__ __forceinline__ void async_rows(elem* dst, int ld, const elem* src, size_t stride, int cn, int tid)
{
    constexpr int PER = COLS / VEC;
    for (int i = tid; i < CH * PER; i += NT) {
        const int t = i / PER;
        const int c = (i % PER) * VEC;
        if (t < cn) {
            cp_async16(dst + t * ld + c, src + t * stride + c);
        } else {
            *reinterpret_cast<uint4*>(dst + t * ld + c) = make_uint4(0u, 0u, 0u, 0u);
        }
    }
}

// Rows [0, cn) of COLS fp32 columns (row t at src + t * stride) go into shared memory in batches of
// BATCH 16-byte loads a thread: load_batch loads batch b0 (rows past cn as zeros) into registers,
// store_batch writes it into dst [C][ld] as elem and rows [0, cn) of it, times copyMul[t], to
// copy + t * copyStride.
template <int COLS, int BATCH>
__device__ __forceinline__ void load_batch(float4 (&x)[BATCH], const float* __restrict__ src, size_t stride, int cn,
                                           int b0, int tid)
{
    constexpr int PER = COLS / 4;
#pragma unroll
    for (int u = 0; u < BATCH; u++) {
        const int i = tid + (b0 + u) * THREADS;
        const int t = i / PER;
        const int c = (i % PER) * 4;
        x[u] = t < cn ? __ldg(reinterpret_cast<const float4*>(src + t * stride + c)) : make_float4(0.f, 0.f, 0.f, 0.f);
    }
}

template <int COLS, int BATCH>
__device__ __forceinline__ void store_batch(const float4 (&x)[BATCH], elem* dst, int ld, int cn,
                                            elem* __restrict__ copy, size_t copyStride, const float* copyMul, int b0,
                                            int tid)
{
    constexpr int PER = COLS / 4;
#pragma unroll
    for (int u = 0; u < BATCH; u++) {
        const int i = tid + (b0 + u) * THREADS;
        const int t = i / PER;
        const int c = (i % PER) * 4;
        st_elem4(dst + t * ld + c, x[u]);
        if (t < cn) {
            st_elem4(copy + t * copyStride + c, scale4(x[u], copyMul[t]));
        }
    }
}

// Rows [0, cn) of 64 fp32 columns in registers, four 16-byte loads a thread (rows past cn as zeros):
// loaded a phase before they are needed, so that their latency hides behind that phase.
struct Rows64 {
    float4 x[CH * 16 / THREADS];
};

__device__ __forceinline__ void load_rows64(Rows64& b, const float* __restrict__ src, size_t stride, int cn, int tid)
{
#pragma unroll
    for (int u = 0; u < CH * 16 / THREADS; u++) {
        const int i = tid + u * THREADS;
        const int t = i / 16;
        const int c = (i % 16) * 4;
        b.x[u] = t < cn ? __ldg(reinterpret_cast<const float4*>(src + t * stride + c)) : make_float4(0.f, 0.f, 0.f, 0.f);
    }
}

// Writes the rows of b, times mul[t], into dst [C][ld] as elem.
__device__ __forceinline__ void put_rows64(elem* dst, int ld, const Rows64& b, const float* mul, int tid)
{
#pragma unroll
    for (int u = 0; u < CH * 16 / THREADS; u++) {
        const int i = tid + u * THREADS;
        const int t = i / 16;
        const int c = (i % 16) * 4;
        st_elem4(dst + t * ld + c, scale4(b.x[u], mul[t]));
    }
}

// Writes rows [0, cn) of an fp32 [C][LDF] tile of 64 columns, times sign, to dst + t * stride as elem.
__device__ __forceinline__ void store_rows64(elem* __restrict__ dst, size_t stride, const float* src, int cn,
                                             float sign, int tid)
{
    for (int i = tid; i < CH * 16; i += THREADS) {
        const int t = i / 16;
        const int c = (i % 16) * 4;
        if (t < cn) {
            st_elem4(dst + t * stride + c, scale4(*reinterpret_cast<const float4*>(src + t * LDF + c), sign));
        }
    }
}

// [C, C] tiles of the lower triangle (tile row >= tile column), in a fixed order
__device__ __forceinline__ void lower_tile(int i, int& tr, int& tc)
{
    tr = 0;
    while (i > tr) {
        i -= tr + 1;
        tr++;
    }
    tc = i;
}

// Item x of the 16 x 16 blocks on block diagonal d below the main one (x < (C / 16 - d) * 64), four
// adjacent entries of a row: block (bi, bj) = (bj + d, bj), row r and first column c within it. Both phases
// of the blocked inverse walk them so.
__device__ __forceinline__ void below_diagonal_entry(int x, int d, int& bi, int& bj, int& r, int& c)
{
    bj = x / 64;
    bi = bj + d;
    r = (x % 64) / 4;
    c = (x % 4) * 4;
}

// a b + c for each of the four
__device__ __forceinline__ float4 fma4(float a, float4 b, float4 c)
{
    return make_float4(fmaf(a, b.x, c.x), fmaf(a, b.y, c.y), fmaf(a, b.z, c.z), fmaf(a, b.w, c.w));
}
