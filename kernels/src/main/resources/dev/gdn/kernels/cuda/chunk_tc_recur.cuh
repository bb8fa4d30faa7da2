#pragma once
// Stage 2 of gated_delta_rule_chunk_tc.cu, the recurrence with the output (included after its
// configuration, products and data movement): gdr_chunk_recur and the one definition of its
// shared-memory layout. Its CPU counterpart is ChunkStages.recur.
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
