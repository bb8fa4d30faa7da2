// The gated delta rule in chunkwise form on tensor cores, in two launches (varlen, states in a device pool
// addressed by slot, as gated_delta_rule_chunk.cu; the algebra is the same, see CHUNKWISE.md).
//
// Within a chunk of C = 64 tokens with cumulative log-decays gam and starting state S0 ([K, V] a head):
//   A    = strictly lower part of diag(beta) (Gam o K K^T),       Gam_ts = e^(gam_t - gam_s), s <= t
//   T    = (I + A)^-1                                             (forward substitution, fp32)
//   W    = T diag(beta e^gam) K,   U = T diag(beta) V            [C, K], [C, V]
//   M    = scale (Gam o Q K^T)                                    lower with diagonal
// then, chunk after chunk,
//   Vn   = U - W S0
//   O    = scale diag(e^gam) Q S0 + M Vn
//   S    = e^gam_last S0 + (diag(e^(gam_last - gam)) K)^T Vn.
//
// gdr_chunk_prepare (grid: chunks of the longest run, HV, N) computes W, U and M for every chunk at once
// and writes them to scratch rows laid out like the inputs; gdr_chunk_recur (grid: V / BV, HV, N) walks
// each stream's chunks in order with its [K, BV] slice of S in shared memory. Every matrix product is a
// 16 x 16 tile product on tensor cores (WMMA) with fp32 accumulation:
//   PREC_BF16 = 1: operands rounded to bfloat16 (the precision class of FLA's chunk kernel);
//   PREC_BF16 = 0: operands split into two TF32 parts, three products a tile (3xTF32), about fp32 accuracy.
// Decays, the substitution and the state between chunks stay fp32. Every sum has a fixed order, so a
// stream's results do not depend on its batch.
//
// Compile-time: K_DIM (a multiple of 64), PREC_BF16 (0 or 1), BV (64).

#include <mma.h>
#include <cuda_bf16.h>
using namespace nvcuda;

#ifndef K_DIM
#error "K_DIM must be defined"
#endif
#ifndef PREC_BF16
#error "PREC_BF16 must be defined"
#endif
#ifndef BV
#define BV 64
#endif
#define CH 64
#define THREADS 256
#define WARPS (THREADS / 32)
static_assert(K_DIM % 64 == 0, "K_DIM must be a multiple of 64");
static_assert(BV == 64, "the recurrence kernel's buffers assume BV == CH == 64");

#if PREC_BF16
typedef __nv_bfloat16 elem;
#define WK 16
typedef __nv_bfloat16 frag_t;
__device__ __forceinline__ elem to_elem(float x) { return __float2bfloat16(x); }
__device__ __forceinline__ float from_elem(elem x) { return __bfloat162float(x); }
#else
typedef float elem;
#define WK 8
typedef wmma::precision::tf32 frag_t;
__device__ __forceinline__ elem to_elem(float x) { return x; }
__device__ __forceinline__ float from_elem(elem x) { return x; }
#endif

// padding of 32 bytes a row keeps every tile 32-byte aligned and spreads rows over the banks
#define PE (32 / (int)sizeof(elem))
#define LDK (K_DIM + PE) // rows of K or Q, [C][K]
#define LDC (CH + PE)    // [C][C] operands
#define LDB (BV + PE)    // [*][BV] operands
#define LDF (CH + 8)     // fp32 staging, [*][64]
#define LDS (BV + 8)     // fp32 state slice [K][BV]

typedef wmma::fragment<wmma::accumulator, 16, 16, WK, float> acc_t;

template <bool ROW> struct Lay;
template <> struct Lay<true> { typedef wmma::row_major T; };
template <> struct Lay<false> { typedef wmma::col_major T; };

// acc += A (16 x kd) B (kd x 16). A_ROW: A(r, c) = a[r * lda + c], else a[c * lda + r];
// B_ROW: B(r, c) = b[r * ldb + c], else b[c * ldb + r].
template <bool A_ROW, bool B_ROW>
__device__ __forceinline__ void tile_mma(acc_t& acc, const elem* a, int lda, const elem* b, int ldb, int kd)
{
    typedef wmma::fragment<wmma::matrix_a, 16, 16, WK, frag_t, typename Lay<A_ROW>::T> fa_t;
    typedef wmma::fragment<wmma::matrix_b, 16, 16, WK, frag_t, typename Lay<B_ROW>::T> fb_t;
    for (int kk = 0; kk < kd; kk += WK) {
        fa_t fa;
        fb_t fb;
        wmma::load_matrix_sync(fa, A_ROW ? a + kk : a + (size_t)kk * lda, lda);
        wmma::load_matrix_sync(fb, B_ROW ? b + (size_t)kk * ldb : b + kk, ldb);
#if PREC_BF16
        wmma::mma_sync(acc, fa, fb, acc);
#else
        fa_t fa_lo;
        fb_t fb_lo;
#pragma unroll
        for (int i = 0; i < fa.num_elements; i++) {
            const float x = fa.x[i];
            const float hi = wmma::__float_to_tf32(x);
            fa.x[i] = hi;
            fa_lo.x[i] = wmma::__float_to_tf32(x - hi);
        }
#pragma unroll
        for (int i = 0; i < fb.num_elements; i++) {
            const float x = fb.x[i];
            const float hi = wmma::__float_to_tf32(x);
            fb.x[i] = hi;
            fb_lo.x[i] = wmma::__float_to_tf32(x - hi);
        }
        wmma::mma_sync(acc, fa_lo, fb, acc);
        wmma::mma_sync(acc, fa, fb_lo, acc);
        wmma::mma_sync(acc, fa, fb, acc);
#endif
    }
}

// Cumulative log-decay of the chunk's tokens (g = 0 past the run's end) by a fixed-order scan:
// threads 0..63 take part, the caller synchronises before and after.
__device__ __forceinline__ void chunk_cumsum(const float* __restrict__ g, size_t row0, int cn, int HV, int j,
                                             float* gam, int tid)
{
    if (tid < CH) {
        float gt = tid < cn ? g[(row0 + tid) * HV + j] : 0.f;
        const int lane = tid & 31;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const float up = __shfl_up_sync(0xffffffffu, gt, o);
            if (lane >= o) {
                gt += up;
            }
        }
        gam[tid] = gt;
    }
    __syncthreads();
    if (tid >= 32 && tid < CH) {
        gam[tid] += gam[31];
    }
}

// Loads rows [row0, row0 + cn) of a [rows, heads, width] fp32 array (head hd, columns c0 .. c0 + cols)
// into dst [CH][ld] as elem, rows past cn as zeros, each row multiplied by mul[t] when mul is given.
__device__ __forceinline__ void load_rows(elem* dst, int ld, const float* __restrict__ src, size_t row0, int cn,
                                          int heads, int hd, int width, int c0, int cols, const float* mul, int tid)
{
    const int per = cols / 4;
    for (int i = tid; i < CH * per; i += THREADS) {
        const int t = i / per;
        const int c = (i % per) * 4;
        float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
        if (t < cn) {
            x = *reinterpret_cast<const float4*>(src + ((row0 + t) * heads + hd) * (size_t)width + c0 + c);
            if (mul != nullptr) {
                const float m = mul[t];
                x.x *= m;
                x.y *= m;
                x.z *= m;
                x.w *= m;
            }
        }
        elem* d = dst + t * ld + c;
        d[0] = to_elem(x.x);
        d[1] = to_elem(x.y);
        d[2] = to_elem(x.z);
        d[3] = to_elem(x.w);
    }
}

// Copies rows [0, cn) of an fp32 [CH][LDF] tile of 64 columns to scratch rows of elem
// ([rows, HV, width], head j, columns c0 .. c0 + 63).
__device__ __forceinline__ void store_rows(elem* __restrict__ dst, const float* src, size_t row0, int cn, int HV,
                                           int j, int width, int c0, int tid)
{
    for (int i = tid; i < CH * 64; i += THREADS) {
        const int t = i / 64;
        const int c = i % 64;
        if (t < cn) {
            dst[((row0 + t) * HV + j) * (size_t)width + c0 + c] = to_elem(src[t * LDF + c]);
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

// Shared memory of gdr_chunk_prepare (bytes): gam, beta, e^gam [C]; Ke [C][LDK]; Qe [C][LDK]; two fp32
// [C][LDF] (K K^T -> A; Q K^T -> M, later T). Once the products are done, T as an operand, a block of V
// and fp32 staging take Qe's place and, where they need it, A's (never T's: Te fits in Qe).
extern "C" __global__ void __launch_bounds__(THREADS)
gdr_chunk_prepare(const float* __restrict__ q,     // [rows, H, K], L2-normalised
                  const float* __restrict__ k,     // [rows, H, K], L2-normalised
                  const float* __restrict__ v,     // [rows, HV, V]
                  const float* __restrict__ g,     // [rows, HV] log-decay
                  const float* __restrict__ beta,  // [rows, HV]
                  const int* __restrict__ offsets, // [N + 1]
                  elem* __restrict__ wOut,         // [rows, HV, K]
                  elem* __restrict__ uOut,         // [rows, HV, V]
                  elem* __restrict__ mOut,         // [rows, HV, C]
                  int H, int HV, int V, float scale, int minTokens)
{
    extern __shared__ __align__(128) unsigned char smem_raw[];
    float* gam = reinterpret_cast<float*>(smem_raw);
    float* bet = gam + CH;
    float* eg = bet + CH;
    elem* Ke = reinterpret_cast<elem*>(eg + CH);
    elem* Qe = Ke + CH * LDK;
    float* Fa = reinterpret_cast<float*>(Qe + CH * LDK);
    float* Fm = Fa + CH * LDF;
    elem* Te = Qe;
    elem* Ve = Te + CH * LDC;
    float* Fo = reinterpret_cast<float*>(Ve + CH * LDB);
    float* Tf = Fm;

    const int n = blockIdx.z;
    const int j = blockIdx.y;
    const int h = j / (HV / H);
    const int tid = threadIdx.x;
    const int warp = tid / 32;
    const int len = offsets[n + 1] - offsets[n];
    const int first = blockIdx.x * CH;
    if (len < minTokens || first >= len) {
        return;
    }
    const size_t row0 = (size_t)offsets[n] + first;
    const int cn = min(CH, len - first);

    load_rows(Ke, LDK, k, row0, cn, H, h, K_DIM, 0, K_DIM, nullptr, tid);
    load_rows(Qe, LDK, q, row0, cn, H, h, K_DIM, 0, K_DIM, nullptr, tid);
    chunk_cumsum(g, row0, cn, HV, j, gam, tid);
    if (tid < CH) {
        bet[tid] = tid < cn ? beta[(row0 + tid) * HV + j] : 0.f;
    }
    __syncthreads();
    if (tid < CH) {
        eg[tid] = expf(gam[tid]);
    }

    // K K^T and Q K^T, lower-triangle tiles only (10 each)
    for (int i = warp; i < 20; i += WARPS) {
        int tr, tc;
        lower_tile(i % 10, tr, tc);
        const elem* a = (i < 10 ? Ke : Qe) + tr * 16 * LDK;
        acc_t acc;
        wmma::fill_fragment(acc, 0.f);
        tile_mma<true, false>(acc, a, LDK, Ke + tc * 16 * LDK, LDK, K_DIM);
        wmma::store_matrix_sync((i < 10 ? Fa : Fm) + tr * 16 * LDF + tc * 16, acc, LDF, wmma::mem_row_major);
    }
    __syncthreads();

    // A = beta_t Gam_ts kk (s < t), M = scale Gam_ts qk (s <= t), written out
    for (int i = tid; i < CH * CH; i += THREADS) {
        const int t = i / CH;
        const int s = i % CH;
        const float decay = s <= t ? expf(gam[t] - gam[s]) : 0.f;
        Fa[t * LDF + s] = s < t ? bet[t] * decay * Fa[t * LDF + s] : 0.f;
        if (t < cn) {
            mOut[((row0 + t) * HV + j) * CH + s] = to_elem(s <= t ? scale * decay * Fm[t * LDF + s] : 0.f);
        }
    }
    __syncthreads();

    // T = (I + A)^-1 by forward substitution, 4 threads a column:
    // T_tc = [t == c] - sum_{c <= s < t} A_ts T_sc
    {
        const int col = tid >> 2;
        const int part = tid & 3;
        for (int t = 0; t < CH; t++) {
            float partial = 0.f;
            for (int s = col + part; s < t; s += 4) {
                partial = fmaf(Fa[t * LDF + s], Tf[s * LDF + col], partial);
            }
            partial += __shfl_xor_sync(0xffffffffu, partial, 1);
            partial += __shfl_xor_sync(0xffffffffu, partial, 2);
            if (part == 0) {
                Tf[t * LDF + col] = t < col ? 0.f : (t == col ? 1.f : -partial);
            }
            __syncwarp();
        }
    }
    __syncthreads();
    for (int i = tid; i < CH * CH; i += THREADS) {
        Te[(i / CH) * LDC + i % CH] = to_elem(Tf[(i / CH) * LDF + i % CH]);
    }
    // K rows scaled by beta_t e^gam_t, in place
    for (int i = tid; i < CH * K_DIM; i += THREADS) {
        const int t = i / K_DIM;
        const int e = i % K_DIM;
        Ke[t * LDK + e] = to_elem(from_elem(Ke[t * LDK + e]) * bet[t] * eg[t]);
    }
    __syncthreads();

    // W = T (diag(beta e^gam) K), 64 columns at a time; T is lower triangular: tile row tr needs
    // only the first (tr + 1) * 16 of its columns
    for (int c0 = 0; c0 < K_DIM; c0 += 64) {
        for (int i = warp; i < 16; i += WARPS) {
            const int tr = i / 4;
            const int tc = i % 4;
            acc_t acc;
            wmma::fill_fragment(acc, 0.f);
            tile_mma<true, true>(acc, Te + tr * 16 * LDC, LDC, Ke + c0 + tc * 16, LDK, (tr + 1) * 16);
            wmma::store_matrix_sync(Fo + tr * 16 * LDF + tc * 16, acc, LDF, wmma::mem_row_major);
        }
        __syncthreads();
        store_rows(wOut, Fo, row0, cn, HV, j, K_DIM, c0, tid);
        __syncthreads();
    }

    // U = T (diag(beta) V), 64 columns at a time
    for (int c0 = 0; c0 < V; c0 += 64) {
        load_rows(Ve, LDB, v, row0, cn, HV, j, V, c0, 64, bet, tid);
        __syncthreads();
        for (int i = warp; i < 16; i += WARPS) {
            const int tr = i / 4;
            const int tc = i % 4;
            acc_t acc;
            wmma::fill_fragment(acc, 0.f);
            tile_mma<true, true>(acc, Te + tr * 16 * LDC, LDC, Ve + tc * 16, LDB, (tr + 1) * 16);
            wmma::store_matrix_sync(Fo + tr * 16 * LDF + tc * 16, acc, LDF, wmma::mem_row_major);
        }
        __syncthreads();
        store_rows(uOut, Fo, row0, cn, HV, j, V, c0, tid);
        __syncthreads();
    }
}

// Shared memory of gdr_chunk_recur (bytes): Sf fp32 [K][LDS]; Se [K][LDB] (bf16 only); Xe [C][LDK]; Uf fp32
// [C][LDF]; Ne [C][LDB] (bf16 only); Me [C][LDC]; Fo fp32 [C][LDF]; gam, e^(gam_last - gam) [C].
extern "C" __global__ void __launch_bounds__(THREADS)
gdr_chunk_recur(const float* __restrict__ q,      // [rows, H, K]
                const float* __restrict__ k,      // [rows, H, K]
                const float* __restrict__ g,      // [rows, HV]
                const elem* __restrict__ wIn,     // [rows, HV, K] from gdr_chunk_prepare
                const elem* __restrict__ uIn,     // [rows, HV, V]
                const elem* __restrict__ mIn,     // [rows, HV, C]
                const int* __restrict__ offsets,  // [N + 1]
                const int* __restrict__ slots,    // [N]
                float* __restrict__ pool,         // [slots, HV, K, V]
                float* __restrict__ out,          // [rows, HV, V]
                int H, int HV, int V, float scale, int minTokens)
{
    extern __shared__ __align__(128) unsigned char smem_raw[];
    float* Sf = reinterpret_cast<float*>(smem_raw);
#if PREC_BF16
    elem* Se = reinterpret_cast<elem*>(Sf + K_DIM * LDS);
    elem* Xe = Se + K_DIM * LDB;
#else
    elem* Se = Sf; // the operand is the fp32 state itself (LDS == LDB)
    elem* Xe = reinterpret_cast<elem*>(Sf + K_DIM * LDS);
#endif
    float* Uf = reinterpret_cast<float*>(Xe + CH * LDK);
#if PREC_BF16
    elem* Ne = reinterpret_cast<elem*>(Uf + CH * LDF);
    elem* Me = Ne + CH * LDB;
#else
    elem* Ne = Uf;
    elem* Me = reinterpret_cast<elem*>(Uf + CH * LDF);
#endif
    float* Fo = reinterpret_cast<float*>(Me + CH * LDC);
    float* gam = Fo + CH * LDF;
    float* mul = gam + CH;
    static_assert(CH * LDC * sizeof(elem) <= CH * LDK * sizeof(elem), "T must fit in Q's place");

    const int n = blockIdx.z;
    const int j = blockIdx.y;
    const int c0 = blockIdx.x * BV;
    const int h = j / (HV / H);
    const int tid = threadIdx.x;
    const int warp = tid / 32;
    const int len = offsets[n + 1] - offsets[n];
    if (len < minTokens || len == 0) {
        return;
    }
    float* Sg = pool + ((size_t)slots[n] * HV + j) * (size_t)K_DIM * V + c0;

    for (int i = tid; i < K_DIM * BV / 4; i += THREADS) {
        const int e = i / (BV / 4);
        const int c = (i % (BV / 4)) * 4;
        const float4 x = *reinterpret_cast<const float4*>(Sg + (size_t)e * V + c);
        *reinterpret_cast<float4*>(Sf + e * LDS + c) = x;
#if PREC_BF16
        Se[e * LDB + c] = to_elem(x.x);
        Se[e * LDB + c + 1] = to_elem(x.y);
        Se[e * LDB + c + 2] = to_elem(x.z);
        Se[e * LDB + c + 3] = to_elem(x.w);
#endif
    }

    for (int first = 0; first < len; first += CH) {
        const size_t row0 = (size_t)offsets[n] + first;
        const int cn = min(CH, len - first);
        __syncthreads(); // the previous chunk is done with every buffer
        // W, U (this block's columns) and M of the chunk; rows past the run as zeros
        for (int i = tid; i < CH * K_DIM; i += THREADS) {
            const int t = i / K_DIM;
            const int e = i % K_DIM;
            Xe[t * LDK + e] = t < cn ? wIn[((row0 + t) * HV + j) * K_DIM + e] : to_elem(0.f);
        }
        for (int i = tid; i < CH * BV; i += THREADS) {
            const int t = i / BV;
            const int c = i % BV;
            Uf[t * LDF + c] = t < cn ? from_elem(uIn[((row0 + t) * HV + j) * (size_t)V + c0 + c]) : 0.f;
        }
        for (int i = tid; i < CH * CH; i += THREADS) {
            const int t = i / CH;
            const int s = i % CH;
            Me[t * LDC + s] = t < cn ? mIn[((row0 + t) * HV + j) * CH + s] : to_elem(0.f);
        }
        chunk_cumsum(g, row0, cn, HV, j, gam, threadIdx.x);
        __syncthreads();

        // W S0 into staging
        for (int i = warp; i < 4 * (BV / 16); i += WARPS) {
            const int tr = i / (BV / 16);
            const int tc = i % (BV / 16);
            acc_t acc;
            wmma::fill_fragment(acc, 0.f);
            tile_mma<true, true>(acc, Xe + tr * 16 * LDK, LDK, Se + tc * 16, LDB, K_DIM);
            wmma::store_matrix_sync(Fo + tr * 16 * LDF + tc * 16, acc, LDF, wmma::mem_row_major);
        }
        if (tid < CH) {
            mul[tid] = scale * expf(gam[tid]);
        }
        __syncthreads();
        // Vn = U - W S0; the scaled, decayed queries replace W
        for (int i = tid; i < CH * BV; i += THREADS) {
            const int t = i / BV;
            const int c = i % BV;
            const float x = Uf[t * LDF + c] - Fo[t * LDF + c];
            Uf[t * LDF + c] = x;
#if PREC_BF16
            Ne[t * LDB + c] = to_elem(x);
#endif
        }
        load_rows(Xe, LDK, q, row0, cn, H, h, K_DIM, 0, K_DIM, mul, tid);
        __syncthreads();

        // O = (scale e^gam Q) S0 + M Vn; M is lower triangular
        for (int i = warp; i < 4 * (BV / 16); i += WARPS) {
            const int tr = i / (BV / 16);
            const int tc = i % (BV / 16);
            acc_t acc;
            wmma::fill_fragment(acc, 0.f);
            tile_mma<true, true>(acc, Xe + tr * 16 * LDK, LDK, Se + tc * 16, LDB, K_DIM);
            tile_mma<true, true>(acc, Me + tr * 16 * LDC, LDC, Ne + tc * 16, LDB, (tr + 1) * 16);
            wmma::store_matrix_sync(Fo + tr * 16 * LDF + tc * 16, acc, LDF, wmma::mem_row_major);
        }
        const float last = gam[cn - 1];
        __syncthreads();
        for (int i = tid; i < CH * BV / 4; i += THREADS) {
            const int t = i / (BV / 4);
            const int c = (i % (BV / 4)) * 4;
            if (t < cn) {
                *reinterpret_cast<float4*>(out + ((row0 + t) * HV + j) * (size_t)V + c0 + c) =
                        *reinterpret_cast<const float4*>(Fo + t * LDF + c);
            }
        }
        if (tid < CH) {
            mul[tid] = tid < cn ? expf(last - gam[tid]) : 0.f;
        }
        __syncthreads();
        load_rows(Xe, LDK, k, row0, cn, H, h, K_DIM, 0, K_DIM, mul, tid);
        __syncthreads();

        // S = e^gam_last S0 + (diag(e^(gam_last - gam)) K)^T Vn, [K, BV] in 16 x 16 tiles
        const float decay = expf(last);
        for (int i = warp; i < (K_DIM / 16) * (BV / 16); i += WARPS) {
            const int tr = i / (BV / 16);
            const int tc = i % (BV / 16);
            acc_t acc;
            wmma::load_matrix_sync(acc, Sf + tr * 16 * LDS + tc * 16, LDS, wmma::mem_row_major);
#pragma unroll
            for (int x = 0; x < acc.num_elements; x++) {
                acc.x[x] *= decay;
            }
            tile_mma<false, true>(acc, Xe + tr * 16, LDK, Ne + tc * 16, LDB, CH);
            wmma::store_matrix_sync(Sf + tr * 16 * LDS + tc * 16, acc, LDS, wmma::mem_row_major);
        }
#if PREC_BF16
        __syncthreads();
        for (int i = tid; i < K_DIM * BV; i += THREADS) {
            Se[(i / BV) * LDB + i % BV] = to_elem(Sf[(i / BV) * LDS + i % BV]);
        }
#endif
    }
    __syncthreads();
    for (int i = tid; i < K_DIM * BV / 4; i += THREADS) {
        const int e = i / (BV / 4);
        const int c = (i % (BV / 4)) * 4;
        *reinterpret_cast<float4*>(Sg + (size_t)e * V + c) = *reinterpret_cast<const float4*>(Sf + e * LDS + c);
    }
}
