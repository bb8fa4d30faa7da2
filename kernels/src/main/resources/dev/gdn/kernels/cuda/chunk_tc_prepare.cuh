#pragma once
// Stage 1 of gated_delta_rule_chunk_tc.cu, the preparation (included after its configuration, products
// and data movement): gdr_chunk_prepare and the one definition of its shared-memory layout. Its CPU
// counterpart is ChunkStages.prepare.
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
