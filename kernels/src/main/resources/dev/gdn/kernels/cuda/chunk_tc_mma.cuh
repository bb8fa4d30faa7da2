#pragma once
// Tensor-core products of gated_delta_rule_chunk_tc.cu (included after its configuration: elem, WK, the
// LD* row pitches): the accumulator and operand fragments of either precision, their loads and stores,
// and 16 x 16 tile products over a shared K dimension.
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
