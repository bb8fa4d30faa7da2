// The gated delta rule in chunkwise form for runs of tokens per stream (varlen, one launch), states in a
// device pool addressed by slot, fp32 throughout. Stream n owns rows [offsets[n], offsets[n+1]);
// streams whose run is shorter than minTokens are left to the recurrent kernel (their blocks return).
//
// Within a chunk of C tokens, with cumulative log-decays gam_t = g_0 + ... + g_t and the chunk's
// starting state S0 ([K, V] per value head), the recurrence (see gated_delta_rule_recurrent.cu) is
//   (I + A) U = diag(beta) (V - diag(e^gam) K S0),   A_ts = beta_t e^(gam_t - gam_s) k_t.k_s  (s < t)
//   O   = scale diag(e^gam) Q S0 + M U,              M_ts = scale e^(gam_t - gam_s) q_t.k_s  (s <= t)
//   S_C = e^gam_last S0 + sum_s e^(gam_last - gam_s) k_s u_s^T
// U (the corrected writes) by forward substitution. Every exponent is <= 0, so nothing overflows.
//
// Grid (V / 64, HV, N); block 256 threads as 16 x 16; the block keeps its [K, 64] slice of S in shared
// memory for the whole run. The products are register-tiled (2 x 4 outputs a thread for [C, 64]
// results, K/16 x 4 for the state). Every reduction has a fixed order: a stream's results do not
// depend on its batch.
//
// Compile-time: K_DIM (a multiple of 16).

#ifndef K_DIM
#error "K_DIM must be defined"
#endif
#define CHUNK 32 // one warp: the decay scan below relies on it
#define VT 64
#define THREADS 256
#define KP (K_DIM + 4)
#define CP (CHUNK + 1)
#define ER (K_DIM / 16)
static_assert(K_DIM % 16 == 0, "K_DIM must be a multiple of 16");

// Shared floats: Ks, Qs [C][K+4]; S [K][64]; U [C][64]; A, M [C][C+1]; gam, beta, e^gam, decay to the
// chunk's end [C] (the launcher sizes the dynamic shared memory to match).

__device__ __forceinline__ float4 ld4(const float* p)
{
    return *reinterpret_cast<const float4*>(p);
}

__device__ __forceinline__ void st4(float* p, float4 v)
{
    *reinterpret_cast<float4*>(p) = v;
}

#include "gdn_common.cuh"

__device__ __forceinline__ float at(const float4& v, int i)
{
    return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}

__device__ __forceinline__ void fma4(float (&acc)[4], float a, const float4& b)
{
    acc[0] = fmaf(a, b.x, acc[0]);
    acc[1] = fmaf(a, b.y, acc[1]);
    acc[2] = fmaf(a, b.z, acc[2]);
    acc[3] = fmaf(a, b.w, acc[3]);
}

extern "C" __global__ void __launch_bounds__(THREADS)
gated_delta_rule_chunk(const float* __restrict__ q,      // [rows, H, K], L2-normalised
                       const float* __restrict__ k,      // [rows, H, K], L2-normalised
                       const float* __restrict__ v,      // [rows, HV, V]
                       const float* __restrict__ g,      // [rows, HV] log-decay
                       const float* __restrict__ beta,   // [rows, HV]
                       const int* __restrict__ offsets,  // [N + 1]
                       const int* __restrict__ slots,    // [N]
                       state_t* __restrict__ pool,       // [slots, HV, K, V]
                       float* __restrict__ out,          // [rows, HV, V]
                       int H, int HV, int V, float scale, int minTokens)
{
    extern __shared__ __align__(16) float smem[];
    float* Ks = smem;
    float* Qs = Ks + CHUNK * KP;
    float* S = Qs + CHUNK * KP;
    float* U = S + K_DIM * VT;
    float* A = U + CHUNK * VT;
    float* M = A + CHUNK * CP;
    float* gam = M + CHUNK * CP;
    float* bet = gam + CHUNK;
    float* eg = bet + CHUNK;
    float* tail = eg + CHUNK;

    const int n = blockIdx.z;
    const int j = blockIdx.y;
    const int c0 = blockIdx.x * VT;
    const int h = j / (HV / H);
    const int tid = threadIdx.x;
    const int tx = tid % 16;
    const int ty = tid / 16;
    const int r0 = offsets[n];
    const int len = offsets[n + 1] - r0;
    if (len < minTokens || len == 0) {
        return;
    }
    state_t* Sg = pool + ((size_t)slots[n] * HV + j) * (size_t)K_DIM * V;

    for (int i = tid; i < K_DIM * VT / 4; i += THREADS) {
        const int e = i / (VT / 4);
        const int c4 = (i % (VT / 4)) * 4;
        st4(S + e * VT + c4, state_ld4(Sg + (size_t)e * V + c0 + c4));
    }

    for (int base = 0; base < len; base += CHUNK) {
        const int cn = min(CHUNK, len - base);
        __syncthreads(); // the previous chunk is done with every buffer
        for (int i = tid; i < CHUNK * K_DIM / 4; i += THREADS) {
            const int t = i / (K_DIM / 4);
            const int e4 = (i % (K_DIM / 4)) * 4;
            float4 kv = make_float4(0.f, 0.f, 0.f, 0.f);
            float4 qv = kv;
            if (t < cn) {
                const size_t src = ((size_t)(r0 + base + t) * H + h) * K_DIM + e4;
                kv = ld4(k + src);
                qv = ld4(q + src);
            }
            st4(Ks + t * KP + e4, kv);
            st4(Qs + t * KP + e4, qv);
        }
        if (tid < 32) {
            // warp 0: lane t loads token t's gate and write strength; cumulative decay by a fixed-order scan
            const int t = tid;
            float gt = 0.f;
            float bt = 0.f;
            if (t < cn) {
                gt = g[(size_t)(r0 + base + t) * HV + j];
                bt = beta[(size_t)(r0 + base + t) * HV + j];
            }
#pragma unroll
            for (int o = 1; o < 32; o <<= 1) {
                const float up = __shfl_up_sync(0xffffffffu, gt, o);
                if (t >= o) {
                    gt += up;
                }
            }
            const float lastGam = __shfl_sync(0xffffffffu, gt, cn - 1);
            gam[t] = gt;
            bet[t] = bt;
            eg[t] = expf(gt);
            tail[t] = t < cn ? expf(lastGam - gt) : 0.f;
        }
        __syncthreads();

        const int t0 = ty * 2;
        const int c = tx * 4;
        // A (strictly lower) and M (lower with diagonal), 2 x 2 entries a thread
        {
            const int s0 = tx * 2;
            float kk[2][2] = {{0.f, 0.f}, {0.f, 0.f}};
            float qk[2][2] = {{0.f, 0.f}, {0.f, 0.f}};
            if (s0 <= t0 + 1) {
                for (int e = 0; e < K_DIM; e += 4) {
                    const float4 ka = ld4(Ks + t0 * KP + e);
                    const float4 kb = ld4(Ks + (t0 + 1) * KP + e);
                    const float4 qa = ld4(Qs + t0 * KP + e);
                    const float4 qb = ld4(Qs + (t0 + 1) * KP + e);
                    const float4 sa = ld4(Ks + s0 * KP + e);
                    const float4 sb = ld4(Ks + (s0 + 1) * KP + e);
#pragma unroll
                    for (int i = 0; i < 4; i++) {
                        kk[0][0] = fmaf(at(ka, i), at(sa, i), kk[0][0]);
                        kk[0][1] = fmaf(at(ka, i), at(sb, i), kk[0][1]);
                        kk[1][0] = fmaf(at(kb, i), at(sa, i), kk[1][0]);
                        kk[1][1] = fmaf(at(kb, i), at(sb, i), kk[1][1]);
                        qk[0][0] = fmaf(at(qa, i), at(sa, i), qk[0][0]);
                        qk[0][1] = fmaf(at(qa, i), at(sb, i), qk[0][1]);
                        qk[1][0] = fmaf(at(qb, i), at(sa, i), qk[1][0]);
                        qk[1][1] = fmaf(at(qb, i), at(sb, i), qk[1][1]);
                    }
                }
            }
#pragma unroll
            for (int a = 0; a < 2; a++) {
#pragma unroll
                for (int b = 0; b < 2; b++) {
                    const int t = t0 + a;
                    const int s = s0 + b;
                    const float decay = s <= t ? expf(gam[t] - gam[s]) : 0.f;
                    A[t * CP + s] = s < t ? bet[t] * decay * kk[a][b] : 0.f;
                    M[t * CP + s] = s <= t ? scale * decay * qk[a][b] : 0.f;
                }
            }
        }

        // R = V - e^gam K S0 (into U) and P = scale e^gam Q S0 (kept in registers), 2 x 4 a thread
        float p[2][4];
        {
            float ks[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
            float qs[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
            for (int e = 0; e < K_DIM; e += 4) {
                const float4 ka = ld4(Ks + t0 * KP + e);
                const float4 kb = ld4(Ks + (t0 + 1) * KP + e);
                const float4 qa = ld4(Qs + t0 * KP + e);
                const float4 qb = ld4(Qs + (t0 + 1) * KP + e);
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    const float4 s4 = ld4(S + (e + i) * VT + c);
                    fma4(ks[0], at(ka, i), s4);
                    fma4(ks[1], at(kb, i), s4);
                    fma4(qs[0], at(qa, i), s4);
                    fma4(qs[1], at(qb, i), s4);
                }
            }
#pragma unroll
            for (int a = 0; a < 2; a++) {
                const int t = t0 + a;
                float4 vv = make_float4(0.f, 0.f, 0.f, 0.f);
                if (t < cn) {
                    vv = ld4(v + ((size_t)(r0 + base + t) * HV + j) * V + c0 + c);
                }
                st4(U + t * VT + c, make_float4(vv.x - eg[t] * ks[a][0], vv.y - eg[t] * ks[a][1],
                                                vv.z - eg[t] * ks[a][2], vv.w - eg[t] * ks[a][3]));
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    p[a][i] = scale * eg[t] * qs[a][i];
                }
            }
        }
        __syncthreads();

        // forward substitution, 4 threads a column: U_t = beta_t R_t - sum_{s<t} A_ts U_s
        {
            const int col = tid >> 2;
            const int part = tid & 3;
            for (int t = 0; t < CHUNK; t++) {
                float partial = 0.f;
                for (int s = part; s < t; s += 4) {
                    partial = fmaf(A[t * CP + s], U[s * VT + col], partial);
                }
                partial += __shfl_xor_sync(0xffffffffu, partial, 1);
                partial += __shfl_xor_sync(0xffffffffu, partial, 2);
                if (part == 0) {
                    U[t * VT + col] = bet[t] * U[t * VT + col] - partial;
                }
                __syncwarp();
            }
        }
        __syncthreads();

        // O = P + M U
#pragma unroll
        for (int a = 0; a < 2; a++) {
            const int t = t0 + a;
            if (t < cn) {
                float o[4] = {p[a][0], p[a][1], p[a][2], p[a][3]};
                for (int s = 0; s <= t; s++) {
                    fma4(o, M[t * CP + s], ld4(U + s * VT + c));
                }
                st4(out + ((size_t)(r0 + base + t) * HV + j) * V + c0 + c, make_float4(o[0], o[1], o[2], o[3]));
            }
        }

        // S = e^gam_last S + sum_s e^(gam_last - gam_s) k_s u_s^T, K/16 x 4 a thread
        {
            const float el = eg[cn - 1];
            float acc[ER][4];
#pragma unroll
            for (int i = 0; i < ER; i++) {
                const float4 s4 = ld4(S + (ty * ER + i) * VT + c);
                acc[i][0] = el * s4.x;
                acc[i][1] = el * s4.y;
                acc[i][2] = el * s4.z;
                acc[i][3] = el * s4.w;
            }
            for (int s = 0; s < cn; s++) {
                const float4 u = ld4(U + s * VT + c);
                const float tl = tail[s];
#pragma unroll
                for (int i = 0; i < ER; i++) {
                    fma4(acc[i], Ks[s * KP + ty * ER + i] * tl, u);
                }
            }
#pragma unroll
            for (int i = 0; i < ER; i++) {
                st4(S + (ty * ER + i) * VT + c, make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
            }
        }
    }
    __syncthreads();
    for (int i = tid; i < K_DIM * VT / 4; i += THREADS) {
        const int e = i / (VT / 4);
        const int c4 = (i % (VT / 4)) * 4;
        state_st4(Sg + (size_t)e * V + c0 + c4, ld4(S + e * VT + c4));
    }
}
