// The gated delta rule in chunkwise form on tensor cores, in two launches (varlen, states in a device pool
// addressed by slot, as gated_delta_rule_chunk.cu; the algebra is the same, see CHUNKWISE.md).
//
// Within a chunk of C = 64 tokens with cumulative log-decays gam and starting state S0 ([K, V] a head):
//   A    = strictly lower part of diag(beta) (Gam o K K^T),       Gam_ts = e^(gam_t - gam_s), s <= t
//   T    = (I + A)^-1                                             (in 16 x 16 blocks, fp32)
//   W    = T diag(beta e^gam) K,   U = T diag(beta) V            [C, K], [C, V]
//   M    = scale (Gam o Q K^T)                                    lower with diagonal
//   Qg   = scale diag(e^gam) Q,    Kt = diag(e^(gam_last - gam)) K
// then, chunk after chunk,
//   Vn   = U - W S0
//   O    = Qg S0 + M Vn
//   S    = e^gam_last S0 + Kt^T Vn.
//
// gdr_chunk_prepare (grid: chunks of the longest run, HV, N) computes -W, U, M, Qg, Kt and e^gam for
// every chunk at once into scratch rows laid out like the inputs; gdr_chunk_recur (grid: V / BV, HV, N)
// walks each stream's chunks in order with its [K, BV] slice of S in shared memory or in registers
// (STATE_REGS), its loads issued asynchronously (cp.async). Every matrix product is a 16 x 16 tile product on tensor cores (WMMA) with
// fp32 accumulation:
//   PREC_BF16 = 1: operands rounded to bfloat16 (the precision class of FLA's chunk kernel);
//   PREC_BF16 = 0: operands split into two TF32 parts, three products a tile (3xTF32), about fp32 accuracy.
// Decays, the inverse and the state between chunks stay fp32. Every sum has a fixed order, so a
// stream's results do not depend on its batch.
//
// Compile-time: K_DIM (a multiple of 64), PREC_BF16 (0 or 1), BV (16, 32 or 64), RECUR_WARPS (warps of
// the recurrence; 8 or 16), KT_BUFFER (1: Kt has a buffer of its own and arrives with the chunk's other
// operands; 0: it follows -W into the same one),
// STATE_REGS (where the recurrence keeps the state between chunks, see there), MIN_BLOCKS (resident
// blocks a multiprocessor the recurrence's registers are capped for; 1 by default), PREPARE_BLOCKS (the
// same for gdr_chunk_prepare), KQ_LOADS (16-byte loads of K and of Q a thread has in flight in
// gdr_chunk_prepare; 4 by default), MMA_UNROLL (k-steps of a tile product unrolled; all by default, two
// where a warp advances several state tiles at once; the host sets four for bf16 with the state in
// registers). The host picks the layout (RecurLayout).

#include <mma.h>
#include <cuda_bf16.h>
#include "gdn_common.cuh"
using namespace nvcuda;

#ifndef K_DIM
#error "K_DIM must be defined"
#endif
#ifndef PREC_BF16
#error "PREC_BF16 must be defined"
#endif
#ifndef BV
#define BV 32
#endif
#ifndef KT_BUFFER
#define KT_BUFFER 0
#endif
#ifdef MMA_UNROLL
constexpr int kMmaUnroll = MMA_UNROLL;
#endif
#ifndef MIN_BLOCKS
#define MIN_BLOCKS 1
#endif
#ifndef PREPARE_BLOCKS
#define PREPARE_BLOCKS 1
#endif
#ifndef KQ_LOADS
#define KQ_LOADS 4
#endif
#define CH 64
#define THREADS 256 // gdr_chunk_prepare
#define WARPS (THREADS / 32)
#ifndef RECUR_WARPS
#define RECUR_WARPS 8
#endif
#define RWARPS RECUR_WARPS // gdr_chunk_recur
#define RTHREADS (RWARPS * 32)
static_assert(K_DIM % 64 == 0, "K_DIM must be a multiple of 64");
static_assert(BV == 16 || BV == 32 || BV == 64, "BV must be 16, 32 or 64");
static_assert(RWARPS == 8 || RWARPS == 16, "RECUR_WARPS must be 8 or 16");

#if PREC_BF16
typedef __nv_bfloat16 elem;
#define WK 16
#else
typedef float elem;
#define WK 8
typedef wmma::precision::tf32 frag_t;
#endif

// Rows padded by 8 elements. In bf16 (16 bytes) a row is then 16 mod 128 bytes long, so the eight
// 16-byte rows one ldmatrix phase reads fall in distinct banks (32 bytes of padding put rows r and r + 4
// in the same ones); in fp32 (32 bytes) the operand rows match the fp32 state's, which the 3xTF32
// products read in place. Tiles start at multiples of 16 rows and 16 columns, so they stay 32-byte
// aligned as WMMA needs.
#define PE 8
#define LDK (K_DIM + PE) // [C][K] operands
#define LDC (CH + PE)    // [C][C] operands
#define LDB (BV + PE)    // [*][BV] operands
#define LD64 (64 + PE)   // [C][64] operands (a block of V in the prepare kernel)
#define LDF (CH + 8)     // fp32 [C][64]
#define LDS (BV + 8)     // fp32 [*][BV]
#define VEC (16 / (int)sizeof(elem)) // elements in 16 bytes

#if PREC_BF16
// bf16 products are mma.sync.m16n8k16 (bf16 in, fp32 accumulate) on operands loaded by ldmatrix: one
// instruction a 16 x 16 operand, transposing where the operand's rows run along k. A 16 x 16 accumulator is
// two m16n8 ones side by side: x[4h + i] is element i of the one for columns 8h..8h+7, i.e. row g (i < 2) or
// g + 8 (i >= 2), column 8h + 2t + (i & 1), with g = lane / 4 and t = lane % 4.
struct acc_t {
    static constexpr int num_elements = 8;
    float x[8];
};

__device__ __forceinline__ void acc_fill(acc_t& a, float v)
{
#pragma unroll
    for (int i = 0; i < 8; i++) {
        a.x[i] = v;
    }
}

// a into the row-major fp32 16 x 16 tile at p (ld even)
__device__ __forceinline__ void acc_store(float* p, const acc_t& a, unsigned ld)
{
    const int lane = threadIdx.x % 32;
    float* r = p + (lane / 4) * ld + 2 * (lane % 4);
#pragma unroll
    for (int h = 0; h < 2; h++) {
        *reinterpret_cast<float2*>(r + 8 * h) = make_float2(a.x[4 * h], a.x[4 * h + 1]);
        *reinterpret_cast<float2*>(r + 8 * ld + 8 * h) = make_float2(a.x[4 * h + 2], a.x[4 * h + 3]);
    }
}

// a from the row-major fp32 16 x 16 tile at p (ld even)
__device__ __forceinline__ void acc_load(acc_t& a, const float* p, unsigned ld)
{
    const int lane = threadIdx.x % 32;
    const float* r = p + (lane / 4) * ld + 2 * (lane % 4);
#pragma unroll
    for (int h = 0; h < 2; h++) {
        const float2 x = *reinterpret_cast<const float2*>(r + 8 * h);
        const float2 y = *reinterpret_cast<const float2*>(r + 8 * ld + 8 * h);
        a.x[4 * h] = x.x;
        a.x[4 * h + 1] = x.y;
        a.x[4 * h + 2] = y.x;
        a.x[4 * h + 3] = y.y;
    }
}

// Four 8 x 8 matrices of 16-bit elements from shared memory, lane l giving the address of row l % 8 of
// matrix l / 8 (16-byte aligned); TRANS: each transposed.
template <bool TRANS>
__device__ __forceinline__ void ldsm_x4(unsigned (&r)[4], const elem* p)
{
    const unsigned a = (unsigned)__cvta_generic_to_shared(p);
    if constexpr (TRANS) {
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                     : "r"(a));
    } else {
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                     : "r"(a));
    }
}

// A 16 x 16 left operand (rows m, columns k). ROW: A(m, k) = p[m * ld + k], else p[k * ld + m]. r[0..3] as
// mma.m16n8k16 takes them: rows 0-7 and 8-15 of k 0-7, then of k 8-15.
template <bool ROW>
struct OperandA {
    unsigned r[4];
    __device__ __forceinline__ void load(const elem* p, unsigned ld)
    {
        const int lane = threadIdx.x % 32;
        if constexpr (ROW) {
            ldsm_x4<false>(r, p + (lane % 16) * ld + (lane / 16) * 8);
        } else {
            ldsm_x4<true>(r, p + (lane % 8 + (lane / 16) * 8) * ld + ((lane / 8) % 2) * 8);
        }
    }
};

// A 16 x 16 right operand (rows k, columns n). ROW: B(k, n) = p[k * ld + n], else p[n * ld + k]. r[0], r[1]:
// columns 0-7 for k 0-7 and 8-15; r[2], r[3]: columns 8-15.
template <bool ROW>
struct OperandB {
    unsigned r[4];
    __device__ __forceinline__ void load(const elem* p, unsigned ld)
    {
        const int lane = threadIdx.x % 32;
        if constexpr (ROW) {
            ldsm_x4<true>(r, p + (lane % 8 + ((lane / 8) % 2) * 8) * ld + (lane / 16) * 8);
        } else {
            ldsm_x4<false>(r, p + (lane % 8 + (lane / 16) * 8) * ld + ((lane / 8) % 2) * 8);
        }
    }
};

__device__ __forceinline__ void mma_m16n8k16(float* c, const unsigned (&a)[4], unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// acc += a b for loaded operands
template <bool RA, bool RB>
__device__ __forceinline__ void mma(acc_t& acc, const OperandA<RA>& a, const OperandB<RB>& b)
{
    mma_m16n8k16(acc.x, a.r, b.r[0], b.r[1]);
    mma_m16n8k16(acc.x + 4, a.r, b.r[2], b.r[3]);
}
#else
// 3xTF32 products are WMMA m16n16k8 TF32 ones.
typedef wmma::fragment<wmma::accumulator, 16, 16, WK, float> acc_t;

__device__ __forceinline__ void acc_fill(acc_t& a, float v)
{
    wmma::fill_fragment(a, v);
}

__device__ __forceinline__ void acc_store(float* p, const acc_t& a, unsigned ld)
{
    wmma::store_matrix_sync(p, a, ld, wmma::mem_row_major);
}

__device__ __forceinline__ void acc_load(acc_t& a, const float* p, unsigned ld)
{
    wmma::load_matrix_sync(a, p, ld, wmma::mem_row_major);
}

template <bool ROW> struct Lay;
template <> struct Lay<true> { typedef wmma::row_major T; };
template <> struct Lay<false> { typedef wmma::col_major T; };

// f = tf32(f) and lo = tf32(f - tf32(f)), element by element: the two parts of a 3xTF32 product
template <typename F>
__device__ __forceinline__ void split_tf32(F& f, F& lo)
{
#pragma unroll
    for (int i = 0; i < f.num_elements; i++) {
        const float x = f.x[i];
        const float hi = wmma::__float_to_tf32(x);
        f.x[i] = hi;
        lo.x[i] = wmma::__float_to_tf32(x - hi);
    }
}

// A 16 x 16 operand fragment split into two TF32 parts.
template <typename F>
struct Operand {
    F f;
    F lo;
    __device__ __forceinline__ void load(const elem* p, unsigned ld)
    {
        wmma::load_matrix_sync(f, p, ld);
        split_tf32(f, lo);
    }
};

template <bool ROW>
using OperandA = Operand<wmma::fragment<wmma::matrix_a, 16, 16, WK, frag_t, typename Lay<ROW>::T>>;
template <bool ROW>
using OperandB = Operand<wmma::fragment<wmma::matrix_b, 16, 16, WK, frag_t, typename Lay<ROW>::T>>;

// acc += a b for loaded operands (lo parts first, the large product last)
template <typename FA, typename FB>
__device__ __forceinline__ void mma(acc_t& acc, const Operand<FA>& a, const Operand<FB>& b)
{
    wmma::mma_sync(acc, a.lo, b.f, acc);
    wmma::mma_sync(acc, a.f, b.lo, acc);
    wmma::mma_sync(acc, a.f, b.f, acc);
}
#endif

// acc += A (16 x kd) B (kd x 16). A_ROW: A(r, c) = a[r * lda + c], else a[c * lda + r];
// B_ROW: B(r, c) = b[r * ldb + c], else b[c * ldb + r].
template <bool A_ROW, bool B_ROW>
__device__ __forceinline__ void tile_mma(acc_t& acc, const elem* a, int lda, const elem* b, int ldb, int kd)
{
#ifdef MMA_UNROLL
#pragma unroll kMmaUnroll
#endif
    for (int kk = 0; kk < kd; kk += WK) {
        OperandA<A_ROW> fa;
        OperandB<B_ROW> fb;
        fa.load(A_ROW ? a + kk : a + (size_t)kk * lda, lda);
        fb.load(B_ROW ? b + (size_t)kk * ldb : b + kk, ldb);
        mma(acc, fa, fb);
    }
}

// acc0 += A0 B and acc1 += A1 B (A0, A1 row-major 16 x kd with lda, B row-major kd x 16): each
// fragment of B is read once for both; each sum in the same order as tile_mma's.
__device__ __forceinline__ void tile_mma_shared_b(acc_t& acc0, const elem* a0, acc_t& acc1, const elem* a1, int lda,
                                                  const elem* b, int ldb, int kd)
{
#ifdef MMA_UNROLL
#pragma unroll kMmaUnroll
#endif
    for (int kk = 0; kk < kd; kk += WK) {
        OperandB<true> fb;
        fb.load(b + (size_t)kk * ldb, ldb);
        OperandA<true> fa;
        fa.load(a0 + kk, lda);
        mma(acc0, fa, fb);
        fa.load(a1 + kk, lda);
        mma(acc1, fa, fb);
    }
}

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

// Shared memory of gdr_chunk_prepare (bytes): gam, beta, e^gam, scale e^gam, e^(gam_last - gam) [C];
// Ke [C][LDK]; Qe [C][LDK]; two fp32 [C][LDF] (K K^T -> A; Q K^T -> M, later T). Once the products are
// done, T as an operand, a block of V and fp32 staging take Qe's place and, where they need it, A's
// (never T's: Te fits in Qe). The one definition of the layout: byte offsets in carving order, and the
// size the host must allocate (the engine passes its own figure as HOST_PREPARE_SHARED; the compile
// fails where they differ).
constexpr size_t P_KE = 5 * CH * sizeof(float);
constexpr size_t P_QE = P_KE + (size_t)CH * LDK * sizeof(elem);
constexpr size_t P_FA = P_QE + (size_t)CH * LDK * sizeof(elem);
constexpr size_t P_FM = P_FA + (size_t)CH * LDF * sizeof(float);
constexpr size_t PREPARE_SMEM_BYTES = P_FM + (size_t)CH * LDF * sizeof(float);
constexpr size_t P_VE = P_QE + (size_t)CH * LDC * sizeof(elem); // after Te, which is Qe
constexpr size_t P_FO = P_VE + (size_t)CH * LD64 * sizeof(elem);
static_assert(CH * LDC <= CH * LDK, "T must fit in Q's place");
static_assert(P_FO + (size_t)CH * LDF * sizeof(float) <= PREPARE_SMEM_BYTES, "the staging Fo must end within the block's shared memory");
static_assert(P_FO % 16 == 0 && P_FA % 16 == 0 && P_VE % 16 == 0 && P_QE % 16 == 0 && P_KE % 16 == 0,
              "every region of the preparation starts on 16 bytes");
#ifdef HOST_PREPARE_SHARED
static_assert(HOST_PREPARE_SHARED == PREPARE_SMEM_BYTES,
              "the host allocates another size of shared memory than gdr_chunk_prepare lays out");
#endif

extern "C" __global__ void __launch_bounds__(THREADS, PREPARE_BLOCKS)
gdr_chunk_prepare(const float* __restrict__ q,     // [rows, H, K], L2-normalised
                  const float* __restrict__ k,     // [rows, H, K], L2-normalised
                  const float* __restrict__ v,     // [rows, HV, V]
                  const float* __restrict__ g,     // [rows, HV] log-decay
                  const float* __restrict__ beta,  // [rows, HV]
                  const int* __restrict__ offsets, // [N + 1]
                  elem* __restrict__ wOut,         // [rows, HV, K]: -W
                  elem* __restrict__ uOut,         // [rows, HV, V]: U
                  elem* __restrict__ mOut,         // [rows, HV, C]: M
                  elem* __restrict__ qOut,         // [rows, HV, K]: Qg
                  elem* __restrict__ kOut,         // [rows, HV, K]: Kt
                  float* __restrict__ dOut,        // [rows, HV]: e^gam
                  int H, int HV, int V, float scale, int minTokens)
{
    extern __shared__ __align__(128) unsigned char smem_raw[];
    float* gam = reinterpret_cast<float*>(smem_raw);
    float* bet = gam + CH;
    float* eg = bet + CH;
    float* qmul = eg + CH;
    float* kmul = qmul + CH;
    elem* Ke = reinterpret_cast<elem*>(smem_raw + P_KE);
    elem* Qe = reinterpret_cast<elem*>(smem_raw + P_QE);
    float* Fa = reinterpret_cast<float*>(smem_raw + P_FA);
    float* Fm = reinterpret_cast<float*>(smem_raw + P_FM);
    elem* Te = Qe;
    elem* Ve = reinterpret_cast<elem*>(smem_raw + P_VE);
    float* Fo = reinterpret_cast<float*>(smem_raw + P_FO);
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

    // the first batch of K and Q rows on their way while the decays are scanned
    constexpr int KQ_ITER = CH * (K_DIM / 4) / THREADS;
    constexpr int KQ_BATCH = KQ_ITER < KQ_LOADS ? KQ_ITER : KQ_LOADS;
    static_assert(KQ_ITER * THREADS == CH * (K_DIM / 4) && KQ_ITER % KQ_BATCH == 0, "rows must split evenly");
    const size_t qkStride = (size_t)H * K_DIM;
    const size_t outStride = (size_t)HV * K_DIM;
    const float* kRows = k + (row0 * H + h) * K_DIM;
    const float* qRows = q + (row0 * H + h) * K_DIM;
    float4 xk[KQ_BATCH];
    float4 xq[KQ_BATCH];
    load_batch<K_DIM, KQ_BATCH>(xk, kRows, qkStride, cn, 0, tid);
    load_batch<K_DIM, KQ_BATCH>(xq, qRows, qkStride, cn, 0, tid);

    // cumulative log-decay by a fixed-order scan, the gates and the row factors
    if (tid < CH) {
        float gt = tid < cn ? g[(row0 + tid) * HV + j] : 0.f;
        bet[tid] = tid < cn ? beta[(row0 + tid) * HV + j] : 0.f;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const float up = __shfl_up_sync(0xffffffffu, gt, o);
            if ((tid & 31) >= o) {
                gt += up;
            }
        }
        gam[tid] = gt;
    }
    __syncthreads();
    if (tid >= 32 && tid < CH) {
        gam[tid] += gam[31];
    }
    __syncthreads();
    if (tid < CH) {
        const float e = expf(gam[tid]);
        eg[tid] = e;
        qmul[tid] = scale * e;
        kmul[tid] = tid < cn ? expf(gam[cn - 1] - gam[tid]) : 0.f;
        if (tid < cn) {
            dOut[(row0 + tid) * HV + j] = e;
        }
    }
    __syncthreads();

    // K and Q into shared memory; Kt and Qg out
    for (int b0 = 0;;) {
        store_batch<K_DIM, KQ_BATCH>(xk, Ke, LDK, cn, kOut + (row0 * HV + j) * K_DIM, outStride, kmul, b0, tid);
        store_batch<K_DIM, KQ_BATCH>(xq, Qe, LDK, cn, qOut + (row0 * HV + j) * K_DIM, outStride, qmul, b0, tid);
        b0 += KQ_BATCH;
        if (b0 >= KQ_ITER) {
            break;
        }
        load_batch<K_DIM, KQ_BATCH>(xk, kRows, qkStride, cn, b0, tid);
        load_batch<K_DIM, KQ_BATCH>(xq, qRows, qkStride, cn, b0, tid);
    }
    __syncthreads();

    // K K^T and Q K^T, lower-triangle tiles only (10 each)
    for (int i = warp; i < 20; i += WARPS) {
        int tr, tc;
        lower_tile(i % 10, tr, tc);
        const elem* a = (i < 10 ? Ke : Qe) + tr * 16 * LDK;
        acc_t acc;
        acc_fill(acc, 0.f);
        tile_mma<true, false>(acc, a, LDK, Ke + tc * 16 * LDK, LDK, K_DIM);
        acc_store((i < 10 ? Fa : Fm) + tr * 16 * LDF + tc * 16, acc, LDF);
    }
    __syncthreads();

    // the first 64 columns of V on their way (needed after the inverse)
    const float* vRows = v + (row0 * HV + j) * V;
    const size_t vStride = (size_t)HV * V;
    Rows64 vNext;
    load_rows64(vNext, vRows, vStride, cn, tid);

    // A = beta_t Gam_ts kk (s < t), M = scale Gam_ts qk (s <= t), written out; four entries a thread, each
    // decay as 2^((gam_t - gam_s) log2 e) (computed above the diagonal too, where it is masked: no branch)
    for (int i = tid; i < CH * CH / 4; i += THREADS) {
        const int t = i / (CH / 4);
        const int s0 = (i % (CH / 4)) * 4;
        const float4 kk = *reinterpret_cast<const float4*>(Fa + t * LDF + s0);
        const float4 qk = *reinterpret_cast<const float4*>(Fm + t * LDF + s0);
        const float kv[4] = {kk.x, kk.y, kk.z, kk.w};
        const float qv[4] = {qk.x, qk.y, qk.z, qk.w};
        const float gt = gam[t];
        const float bt = bet[t];
        float av[4];
        float mv[4];
#pragma unroll
        for (int u = 0; u < 4; u++) {
            const int s = s0 + u;
            const float decay = exp2f((gt - gam[s]) * 1.4426950408889634f);
            av[u] = s < t ? bt * decay * kv[u] : 0.f;
            mv[u] = s <= t ? scale * decay * qv[u] : 0.f;
        }
        *reinterpret_cast<float4*>(Fa + t * LDF + s0) = make_float4(av[0], av[1], av[2], av[3]);
        if (t < cn) {
            st_elem4(mOut + ((row0 + t) * HV + j) * CH + s0, make_float4(mv[0], mv[1], mv[2], mv[3]));
        }
    }
    __syncthreads();

    // T = (I + A)^-1 in 16 x 16 blocks (the upper blocks of Fa, zero in A, hold the partial products).
    // First the four diagonal blocks by forward substitution, 4 threads a column:
    //   T_tc = [t == c] - sum_{c <= s < t} A_ts T_sc        (t, s, c in one block)
    {
        const int col = tid >> 2;
        const int part = tid & 3;
        const int b0 = col & ~15;
        for (int t = b0; t < b0 + 16; t++) {
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
    // then the blocks below the diagonal, one diagonal of blocks at a time (d = bi - bj):
    //   P_ij = sum_{j <= m < i} A_im T_mj  (into Fa's block (j, i)),   T_ij = -T_ii P_ij
    // (four adjacent entries of a row a thread, each summed over m in ascending order)
    for (int d = 1; d < CH / 16; d++) {
        const int blocks = CH / 16 - d;
        for (int x = tid; x < blocks * 64; x += THREADS) {
            int bi, bj, r, c;
            below_diagonal_entry(x, d, bi, bj, r, c);
            float4 p = make_float4(0.f, 0.f, 0.f, 0.f);
            for (int m = bj * 16; m < bi * 16; m++) {
                p = fma4(Fa[(bi * 16 + r) * LDF + m], *reinterpret_cast<const float4*>(Tf + m * LDF + bj * 16 + c), p);
            }
            *reinterpret_cast<float4*>(Fa + (bj * 16 + r) * LDF + bi * 16 + c) = p;
        }
        __syncthreads();
        for (int x = tid; x < blocks * 64; x += THREADS) {
            int bi, bj, r, c;
            below_diagonal_entry(x, d, bi, bj, r, c);
            float4 t = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
            for (int m = 0; m < 16; m++) {
                t = fma4(Tf[(bi * 16 + r) * LDF + bi * 16 + m],
                         *reinterpret_cast<const float4*>(Fa + (bj * 16 + m) * LDF + bi * 16 + c), t);
            }
            *reinterpret_cast<float4*>(Tf + (bi * 16 + r) * LDF + bj * 16 + c) = make_float4(-t.x, -t.y, -t.z, -t.w);
        }
        __syncthreads();
    }
    // T as an operand (zero above the diagonal blocks)
    for (int i = tid; i < CH * CH / 4; i += THREADS) {
        const int t = i / (CH / 4);
        const int s = (i % (CH / 4)) * 4;
        st_elem4(Te + t * LDC + s, s / 16 > t / 16 ? make_float4(0.f, 0.f, 0.f, 0.f)
                                                    : *reinterpret_cast<const float4*>(Tf + t * LDF + s));
    }
    // K rows times beta_t e^gam_t, in place, 16 bytes at a time
    for (int i = tid; i < CH * (K_DIM / VEC); i += THREADS) {
        const int t = i / (K_DIM / VEC);
        const int e = (i % (K_DIM / VEC)) * VEC;
        const float f = bet[t];
        const float gt = eg[t];
#pragma unroll
        for (int u = 0; u < VEC; u += 4) {
            const float4 x = ld_elem4(Ke + t * LDK + e + u);
            st_elem4(Ke + t * LDK + e + u, make_float4(x.x * f * gt, x.y * f * gt, x.z * f * gt, x.w * f * gt));
        }
    }
    __syncthreads();

    // -W = -T (diag(beta e^gam) K), 64 columns at a time; T is lower triangular: tile row tr needs only
    // the first (tr + 1) * 16 of its columns
    for (int c0 = 0; c0 < K_DIM; c0 += 64) {
        for (int i = warp; i < 16; i += WARPS) {
            const int tr = i / 4;
            const int tc = i % 4;
            acc_t acc;
            acc_fill(acc, 0.f);
            tile_mma<true, true>(acc, Te + tr * 16 * LDC, LDC, Ke + c0 + tc * 16, LDK, (tr + 1) * 16);
            acc_store(Fo + tr * 16 * LDF + tc * 16, acc, LDF);
        }
        __syncthreads();
        store_rows64(wOut + (row0 * HV + j) * K_DIM + c0, outStride, Fo, cn, -1.f, tid);
        __syncthreads();
    }

    // U = T (diag(beta) V), 64 columns at a time, the next block of V loading while this one is multiplied
    for (int c0 = 0; c0 < V; c0 += 64) {
        put_rows64(Ve, LD64, vNext, bet, tid);
        __syncthreads();
        if (c0 + 64 < V) {
            load_rows64(vNext, vRows + c0 + 64, vStride, cn, tid);
        }
        for (int i = warp; i < 16; i += WARPS) {
            const int tr = i / 4;
            const int tc = i % 4;
            acc_t acc;
            acc_fill(acc, 0.f);
            tile_mma<true, true>(acc, Te + tr * 16 * LDC, LDC, Ve + tc * 16, LD64, (tr + 1) * 16);
            acc_store(Fo + tr * 16 * LDF + tc * 16, acc, LDF);
        }
        __syncthreads();
        store_rows64(uOut + (row0 * HV + j) * V + c0, vStride, Fo, cn, 1.f, tid);
        __syncthreads();
    }
}


// Where the state slice [K, BV] lives between chunks (STATE_REGS):
//   1: in the warps' accumulator fragments, tile i (16 x 16, row-major over tiles) in warp i % RWARPS;
//      after each chunk the warps write it as an operand into Se (bf16 rounded from the registers). No
//      fp32 copy in shared memory, so heads of 256 keys fit two blocks a multiprocessor.
//   0: fp32 in shared memory (Sf), loaded and stored by the products; Se converted from it each chunk.
// Both do the same products in the same order: the results are bitwise the same.
#ifndef STATE_REGS
#define STATE_REGS 1
#endif
constexpr int S_TILES = (K_DIM / 16) * (BV / 16);
constexpr int S_PER_WARP = (S_TILES + RWARPS - 1) / RWARPS;
#define LDT 16 // fp32 staging tile [16][LDT], one a warp
#define FO_FLOATS (CH * LDS > RWARPS * 16 * LDT ? CH * LDS : RWARPS * 16 * LDT)
static_assert(RWARPS % (BV / 16) == 0, "a warp's state tiles must share their column");
#if !STATE_REGS
// Tiles the state-in-shared-memory layout advances at once: all of a warp's with 3xTF32 operands; one at a
// time with bf16 ones, which run two blocks a multiprocessor and whose registers would not hold more
// (measured on an H200: the recurrence of 256 streams x 64 tokens, K = V = 128, takes 0.48 ms a tile at a
// time against 0.57 ms all at once)
constexpr int SMEM_GROUP = PREC_BF16 ? 1 : S_PER_WARP;
#endif

// Shared memory of gdr_chunk_recur (bytes), the one definition of its layout in carving order: the state
// slice (bf16/TF32 operand Se [K][LDB] when the fp32 state is in registers; else fp32 Sf [K][LDS], with
// bf16 operands a separate Se after it, with 3xTF32 ones Se is Sf), -W in Xa, Qg in Xb, Kt in Xc (its own
// buffer with KT_BUFFER, else Xa's place after -W is used), U then Vn in Ue [C][LDB], M in Me [C][LDC], fp32
// Fo (-W S0, then O; at least the warps' staging tiles). The engine passes its own figure as
// HOST_RECUR_SHARED; the compile fails where they differ.
#if STATE_REGS
constexpr size_t R_SE = 0;
constexpr size_t R_XA = (size_t)K_DIM * LDB * sizeof(elem);
#elif PREC_BF16
constexpr size_t R_SE = (size_t)K_DIM * LDS * sizeof(float);
constexpr size_t R_XA = R_SE + (size_t)K_DIM * LDB * sizeof(elem);
#else
constexpr size_t R_SE = 0; // the operand is the fp32 state itself (LDS == LDB)
constexpr size_t R_XA = (size_t)K_DIM * LDS * sizeof(float);
#endif
constexpr size_t R_XB = R_XA + (size_t)CH * LDK * sizeof(elem);
#if KT_BUFFER
constexpr size_t R_XC = R_XB + (size_t)CH * LDK * sizeof(elem);
constexpr size_t R_UE = R_XC + (size_t)CH * LDK * sizeof(elem);
#else
constexpr size_t R_XC = R_XA; // Kt follows -W
constexpr size_t R_UE = R_XB + (size_t)CH * LDK * sizeof(elem);
#endif
constexpr size_t R_ME = R_UE + (size_t)CH * LDB * sizeof(elem);
constexpr size_t R_FO = R_ME + (size_t)CH * LDC * sizeof(elem);
constexpr size_t RECUR_SMEM_BYTES = R_FO + (size_t)FO_FLOATS * sizeof(float);
static_assert(R_XA % 16 == 0 && R_XB % 16 == 0 && R_XC % 16 == 0 && R_UE % 16 == 0 && R_ME % 16 == 0 && R_FO % 16 == 0,
              "every region of the recurrence starts on 16 bytes");
#ifdef HOST_RECUR_SHARED
static_assert(HOST_RECUR_SHARED == RECUR_SMEM_BYTES,
              "the host allocates another size of shared memory than gdr_chunk_recur lays out");
#endif

// Tile u of this warp's share of S ([K, BV] in 16 x 16 tiles, row-major over tiles, tile i in warp
// i % RWARPS) at tile row tr and column tc; false where the warp has fewer tiles. A warp's tiles are all
// in one column (tc = warp % (BV / 16)).
__device__ __forceinline__ bool own_tile(int warp, int u, int& tr, int& tc)
{
    const int i = warp + RWARPS * u;
    tr = i / (BV / 16);
    tc = i % (BV / 16);
    return S_TILES % RWARPS == 0 || i < S_TILES;
}

// Output tile u of this warp ([C, BV] in 16 x 16 tiles, row-major over tiles, tile i in warp i % RWARPS)
// at tile row tr (rows of the chunk) and column tc; false where the warp has fewer (or none).
constexpr int O_TILES = (CH / 16) * (BV / 16);
constexpr int O_PER_WARP = (O_TILES + RWARPS - 1) / RWARPS;
__device__ __forceinline__ bool out_tile(int warp, int u, int& tr, int& tc)
{
    const int i = warp + RWARPS * u;
    tr = i / (BV / 16);
    tc = i % (BV / 16);
    return i < O_TILES;
}

// NT of this warp's state tiles one chunk on (st[x] its tile u0 + x): st[x] = e^gam_last st[x] +
// (Kt^T Vn)(tr, tc), Kt in xc [C][LDK], Vn in ue [C][LDB]. A warp's tiles share their column, so each
// fragment of Vn is read once for all NT. Both layouts advance the state through here; each tile's sum
// has the same order whatever NT.
template <int NT>
__device__ __forceinline__ void advance_tiles(acc_t (&st)[NT], int u0, float decay, const elem* xc, const elem* ue,
                                              int warp)
{
#pragma unroll
    for (int x = 0; x < NT; x++) {
#pragma unroll
        for (int e = 0; e < st[x].num_elements; e++) {
            st[x].x[e] *= decay;
        }
    }
    if constexpr (NT == 1) {
        int tr, tc;
        if (own_tile(warp, u0, tr, tc)) {
            tile_mma<false, true>(st[0], xc + tr * 16, LDK, ue + tc * 16, LDB, CH);
        }
        return;
    }
    const int tc = warp % (BV / 16);
    // two k-steps unrolled (unrolled further, the hoisted fragment loads spill under a two-block
    // register cap)
#ifdef MMA_UNROLL
#pragma unroll kMmaUnroll
#else
#pragma unroll 2
#endif
    for (int kk = 0; kk < CH; kk += WK) {
        OperandB<true> fb;
        fb.load(ue + (size_t)kk * LDB + tc * 16, LDB);
#pragma unroll
        for (int x = 0; x < NT; x++) {
            int tr, c;
            if (own_tile(warp, u0 + x, tr, c)) {
                OperandA<false> fa;
                fa.load(xc + (size_t)kk * LDK + tr * 16, LDK);
                mma(st[x], fa, fb);
            }
        }
    }
}

// Writes this warp's state tile (16 x 16 fp32) into Se as an operand (bf16: rounded, straight from the
// accumulator's registers).
__device__ __forceinline__ void put_operand(elem* se, const acc_t& acc, int lane)
{
#if PREC_BF16
    elem* r = se + (lane / 4) * LDB + 2 * (lane % 4);
#pragma unroll
    for (int h = 0; h < 2; h++) {
        *reinterpret_cast<__nv_bfloat162*>(r + 8 * h) = __floats2bfloat162_rn(acc.x[4 * h], acc.x[4 * h + 1]);
        *reinterpret_cast<__nv_bfloat162*>(r + 8 * LDB + 8 * h) =
            __floats2bfloat162_rn(acc.x[4 * h + 2], acc.x[4 * h + 3]);
    }
#else
    acc_store(se, acc, LDB);
#endif
}

// Starts loading the chunk of cn rows at row0 into shared memory: -W into Xa, Qg into Xb, this block's
// columns of U into Ue, M into Me, and (with KT_BUFFER) Kt into Xc.
__device__ __forceinline__ void load_chunk(elem* Xa, elem* Xb, elem* Xc, elem* Ue, elem* Me,
                                           const elem* __restrict__ wIn, const elem* __restrict__ qIn,
                                           const elem* __restrict__ kIn, const elem* __restrict__ uIn,
                                           const elem* __restrict__ mIn, size_t row0, int cn, int j, int HV, int V,
                                           int c0, int tid)
{
    const size_t kStride = (size_t)HV * K_DIM;
    async_rows<K_DIM, RTHREADS>(Xa, LDK, wIn + (row0 * HV + j) * K_DIM, kStride, cn, tid);
    async_rows<K_DIM, RTHREADS>(Xb, LDK, qIn + (row0 * HV + j) * K_DIM, kStride, cn, tid);
    async_rows<BV, RTHREADS>(Ue, LDB, uIn + (row0 * HV + j) * V + c0, (size_t)HV * V, cn, tid);
    async_rows<CH, RTHREADS>(Me, LDC, mIn + (row0 * HV + j) * CH, (size_t)HV * CH, cn, tid);
#if KT_BUFFER
    async_rows<K_DIM, RTHREADS>(Xc, LDK, kIn + (row0 * HV + j) * K_DIM, kStride, cn, tid);
#endif
}

// Writes rows [0, cn) of the staged output Fo [C][LDS] to outHead + (row0 + t) * vStride.
__device__ __forceinline__ void write_outputs(float* outHead, size_t vStride, const float* Fo, size_t row0, int cn,
                                              int tid)
{
    for (int i = tid; i < cn * (BV / 4); i += RTHREADS) {
        const int t = i / (BV / 4);
        const int c = (i % (BV / 4)) * 4;
        *reinterpret_cast<float4*>(outHead + (row0 + t) * vStride + c) = *reinterpret_cast<const float4*>(Fo + t * LDS + c);
    }
}

// Shared memory of gdr_chunk_recur: RECUR_SMEM_BYTES, laid out by the R_* offsets above.
extern "C" __global__ void __launch_bounds__(RTHREADS, MIN_BLOCKS)
gdr_chunk_recur(const elem* __restrict__ wIn,     // [rows, HV, K]: -W
                const elem* __restrict__ uIn,     // [rows, HV, V]: U
                const elem* __restrict__ mIn,     // [rows, HV, C]: M
                const elem* __restrict__ qIn,     // [rows, HV, K]: Qg
                const elem* __restrict__ kIn,     // [rows, HV, K]: Kt
                const float* __restrict__ dIn,    // [rows, HV]: e^gam
                const int* __restrict__ offsets,  // [N + 1]
                const int* __restrict__ slots,    // [N]
                state_t* __restrict__ pool,       // [slots, HV, K, V]
                float* __restrict__ out,          // [rows, HV, V]
                int HV, int V, int minTokens)
{
    extern __shared__ __align__(128) unsigned char smem_raw[];
#if !STATE_REGS
    float* Sf = reinterpret_cast<float*>(smem_raw);
#endif
    elem* Se = reinterpret_cast<elem*>(smem_raw + R_SE);
    elem* Xa = reinterpret_cast<elem*>(smem_raw + R_XA);
    elem* Xb = reinterpret_cast<elem*>(smem_raw + R_XB);
    elem* Xc = reinterpret_cast<elem*>(smem_raw + R_XC);
    elem* Ue = reinterpret_cast<elem*>(smem_raw + R_UE); // U, then Vn
    elem* Me = reinterpret_cast<elem*>(smem_raw + R_ME);
    float* Fo = reinterpret_cast<float*>(smem_raw + R_FO); // -W S0, then O
    static_assert(CH * LDK * sizeof(elem) >= RWARPS * 16 * LDT * sizeof(float), "the staging tiles must fit in Xb");

    const int n = blockIdx.z;
    const int j = blockIdx.y;
    const int c0 = blockIdx.x * BV;
    const int tid = threadIdx.x;
    const int warp = tid / 32;
    const int len = offsets[n + 1] - offsets[n];
    if (len < minTokens || len == 0) {
        return;
    }
    state_t* Sg = pool + ((size_t)slots[n] * HV + j) * (size_t)K_DIM * V + c0;
    const size_t vStride = (size_t)HV * V;
    float* outHead = out + (size_t)j * V + c0; // row r of this block's columns: outHead + r * vStride

    // A (first chunk): its operands on their way while S is read in
    load_chunk(Xa, Xb, Xc, Ue, Me, wIn, qIn, kIn, uIn, mIn, offsets[n], min(CH, len), j, HV, V, c0, tid);

#if STATE_REGS
    // this warp's tiles of S from the pool (every load in flight at once): as operands into Se, as
    // accumulators through the warp's staging tile in Fo
    const int lane = tid % 32;
    acc_t st[S_PER_WARP];
    {
        const int r = lane / 2;
        const int c = (lane % 2) * 8;
        float4 x[S_PER_WARP][2];
#pragma unroll
        for (int u = 0; u < S_PER_WARP; u++) {
            int tr, tc;
            if (own_tile(warp, u, tr, tc)) {
                const state_t* src = Sg + (size_t)(tr * 16 + r) * V + tc * 16 + c;
                x[u][0] = state_ld4(src);
                x[u][1] = state_ld4(src + 4);
            }
        }
        float* stage = Fo + warp * 16 * LDT;
#pragma unroll
        for (int u = 0; u < S_PER_WARP; u++) {
            int tr, tc;
            if (own_tile(warp, u, tr, tc)) {
                elem* se = Se + (tr * 16 + r) * LDB + tc * 16 + c;
                st_elem4(se, x[u][0]);
                st_elem4(se + 4, x[u][1]);
                *reinterpret_cast<float4*>(stage + r * LDT + c) = x[u][0];
                *reinterpret_cast<float4*>(stage + r * LDT + c + 4) = x[u][1];
                __syncwarp();
                acc_load(st[u], stage, LDT);
                __syncwarp();
            }
        }
    }
    float* stage = reinterpret_cast<float*>(Xb) + warp * 16 * LDT;
#else
    // S from the pool into Sf (its operand copy is made at the start of each chunk)
    for (int i = tid; i < K_DIM * BV / 4; i += RTHREADS) {
        const int e = i / (BV / 4);
        const int c = (i % (BV / 4)) * 4;
#ifdef STATE_BF16
        *reinterpret_cast<float4*>(Sf + e * LDS + c) = state_ld4(Sg + (size_t)e * V + c);
#else
        cp_async16(Sf + e * LDS + c, Sg + (size_t)e * V + c);
#endif
    }
    cp_async_wait_all();
    __syncthreads();
#endif

    // this warp's output tiles: rows (tr) of the chunk, columns (tc) of the block
    int oTr[O_PER_WARP];
    int oTc[O_PER_WARP];
    bool outWarp[O_PER_WARP];
#pragma unroll
    for (int u = 0; u < O_PER_WARP; u++) {
        outWarp[u] = out_tile(warp, u, oTr[u], oTc[u]);
    }
    size_t prevRow0 = 0;
    int prevCn = 0;
    for (int first = 0; first < len; first += CH) {
        const size_t row0 = (size_t)offsets[n] + first;
        const int cn = min(CH, len - first);
        // A: the chunk's -W, Qg, U and M on their way (the first chunk's already are); the previous
        // chunk's outputs written
        if (first > 0) {
            load_chunk(Xa, Xb, Xc, Ue, Me, wIn, qIn, kIn, uIn, mIn, row0, cn, j, HV, V, c0, tid);
        }
        write_outputs(outHead, vStride, Fo, prevRow0, prevCn, tid);
#if !STATE_REGS && PREC_BF16
        for (int i = tid; i < K_DIM * BV / 4; i += RTHREADS) {
            const int e = i / (BV / 4);
            const int c = (i % (BV / 4)) * 4;
            st_elem4(Se + e * LDB + c, *reinterpret_cast<const float4*>(Sf + e * LDS + c));
        }
#endif
        const float decay = dIn[(row0 + cn - 1) * HV + j];
        cp_async_wait_all();
        __syncthreads();

        // B: -W S0 into staging; Qg S0 kept in the warp's registers
        acc_t acc_o[O_PER_WARP];
#pragma unroll
        for (int u = 0; u < O_PER_WARP; u++) {
            if (outWarp[u]) {
                const int otr = oTr[u];
                const int otc = oTc[u];
                acc_t acc_w;
                acc_fill(acc_w, 0.f);
                acc_fill(acc_o[u], 0.f);
                tile_mma_shared_b(acc_w, Xa + otr * 16 * LDK, acc_o[u], Xb + otr * 16 * LDK, LDK, Se + otc * 16, LDB,
                                  K_DIM);
                acc_store(Fo + otr * 16 * LDS + otc * 16, acc_w, LDS);
            }
        }
        __syncthreads();

        // C: Vn = U - W S0 in place of U (Kt on its way into Xa unless it came with the rest)
#if !KT_BUFFER
        async_rows<K_DIM, RTHREADS>(Xc, LDK, kIn + (row0 * HV + j) * K_DIM, (size_t)HV * K_DIM, cn, tid);
#endif
        for (int i = tid; i < CH * BV / 4; i += RTHREADS) { // four at a time, each rounded once
            const int t = i / (BV / 4);
            const int c = (i % (BV / 4)) * 4;
            const float4 u = ld_elem4(Ue + t * LDB + c);
            const float4 w = *reinterpret_cast<const float4*>(Fo + t * LDS + c);
            st_elem4(Ue + t * LDB + c, make_float4(u.x + w.x, u.y + w.y, u.z + w.z, u.w + w.w));
        }
#if !KT_BUFFER
        cp_async_wait_all();
#endif
        __syncthreads();

        // D: O = Qg S0 + M Vn (M lower triangular) into staging; S = e^gam_last S0 + Kt^T Vn
#pragma unroll
        for (int u = 0; u < O_PER_WARP; u++) {
            if (outWarp[u]) {
                const int otr = oTr[u];
                const int otc = oTc[u];
                tile_mma<true, true>(acc_o[u], Me + otr * 16 * LDC, LDC, Ue + otc * 16, LDB, (otr + 1) * 16);
                acc_store(Fo + otr * 16 * LDS + otc * 16, acc_o[u], LDS);
            }
        }
#if STATE_REGS
        advance_tiles(st, 0, decay, Xc, Ue, warp);
        // (written as an operand for the next chunk right away: Se is read in B only)
        if (first + CH < len) {
#pragma unroll
            for (int u = 0; u < S_PER_WARP; u++) {
                int tr, tc;
                if (own_tile(warp, u, tr, tc)) {
                    put_operand(Se + tr * 16 * LDB + tc * 16, st[u], lane);
                }
            }
        }
#else
        for (int u0 = 0; warp + RWARPS * u0 < S_TILES; u0 += SMEM_GROUP) {
            acc_t st[SMEM_GROUP];
#pragma unroll
            for (int x = 0; x < SMEM_GROUP; x++) {
                int tr, tc;
                if (own_tile(warp, u0 + x, tr, tc)) {
                    acc_load(st[x], Sf + tr * 16 * LDS + tc * 16, LDS);
                }
            }
            advance_tiles(st, u0, decay, Xc, Ue, warp);
#pragma unroll
            for (int x = 0; x < SMEM_GROUP; x++) {
                int tr, tc;
                if (own_tile(warp, u0 + x, tr, tc)) {
                    acc_store(Sf + tr * 16 * LDS + tc * 16, st[x], LDS);
                }
            }
        }
#endif
        __syncthreads();
        prevRow0 = row0;
        prevCn = cn;
    }
    write_outputs(outHead, vStride, Fo, prevRow0, prevCn, tid);
#if STATE_REGS
#pragma unroll
    for (int u = 0; u < S_PER_WARP; u++) {
        int tr, tc;
        if (own_tile(warp, u, tr, tc)) {
            const int r = lane / 2;
            const int c = (lane % 2) * 8;
            acc_store(stage, st[u], LDT);
            __syncwarp();
            state_t* dst = Sg + (size_t)(tr * 16 + r) * V + tc * 16 + c;
            state_st4(dst, *reinterpret_cast<const float4*>(stage + r * LDT + c));
            state_st4(dst + 4, *reinterpret_cast<const float4*>(stage + r * LDT + c + 4));
            __syncwarp();
        }
    }
#else
    for (int i = tid; i < K_DIM * BV / 4; i += RTHREADS) {
        const int e = i / (BV / 4);
        const int c = (i % (BV / 4)) * 4;
        state_st4(Sg + (size_t)e * V + c, *reinterpret_cast<const float4*>(Sf + e * LDS + c));
    }
#endif
}
