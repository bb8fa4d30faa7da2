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
// Grid (V / VT, HV, N); block 256 threads; the block keeps its [K, VT] slice of S in shared memory for
// the whole run. Every reduction has a fixed order: a stream's results do not depend on its batch.
//
// Compile-time: K_DIM, CHUNK (C, <= 64), VT (value columns per block, divides 256 and V).

#ifndef K_DIM
#error "K_DIM must be defined"
#endif
#ifndef CHUNK
#define CHUNK 32
#endif
#ifndef VT
#define VT 64
#endif
#define THREADS 256
#define KP (K_DIM + 1)
#define CP (CHUNK + 1)
static_assert(THREADS % VT == 0, "VT must divide the block");
static_assert(CHUNK <= THREADS, "CHUNK too large");

// Shared floats: Ks, Qs [C][K+1]; S [K][VT]; A, M [C][C+1]; U, P [C][VT]; gam, beta, e^gam and the
// decay to the chunk's end [C] (the launcher sizes the dynamic shared memory to match).

extern "C" __global__ void __launch_bounds__(THREADS)
gated_delta_rule_chunk(const float* __restrict__ q,      // [rows, H, K], L2-normalised
                       const float* __restrict__ k,      // [rows, H, K], L2-normalised
                       const float* __restrict__ v,      // [rows, HV, V]
                       const float* __restrict__ g,      // [rows, HV] log-decay
                       const float* __restrict__ beta,   // [rows, HV]
                       const int* __restrict__ offsets,  // [N + 1]
                       const int* __restrict__ slots,    // [N]
                       float* __restrict__ pool,         // [slots, HV, K, V]
                       float* __restrict__ out,          // [rows, HV, V]
                       int H, int HV, int V, float scale, int minTokens)
{
    extern __shared__ float smem[];
    float* Ks = smem;
    float* Qs = Ks + CHUNK * KP;
    float* S = Qs + CHUNK * KP;
    float* A = S + K_DIM * VT;
    float* M = A + CHUNK * CP;
    float* U = M + CHUNK * CP;
    float* P = U + CHUNK * VT;
    float* gam = P + CHUNK * VT;
    float* bet = gam + CHUNK;
    float* eg = bet + CHUNK;
    float* tail = eg + CHUNK;

    const int n = blockIdx.z;
    const int j = blockIdx.y;
    const int c0 = blockIdx.x * VT;
    const int h = j / (HV / H);
    const int tid = threadIdx.x;
    const int r0 = offsets[n];
    const int len = offsets[n + 1] - r0;
    if (len < minTokens || len == 0) {
        return;
    }
    float* Sg = pool + ((size_t)slots[n] * HV + j) * (size_t)K_DIM * V;
    const int col = tid % VT;          // this thread's column in the tile
    const int lane = tid / VT;         // and its row phase
    const int ROWSTEP = THREADS / VT;

    for (int i = tid; i < K_DIM * VT; i += THREADS) {
        S[i] = Sg[(size_t)(i / VT) * V + c0 + i % VT];
    }

    for (int base = 0; base < len; base += CHUNK) {
        const int cn = min(CHUNK, len - base);
        __syncthreads(); // the previous chunk is done with every buffer
        for (int i = tid; i < CHUNK * K_DIM; i += THREADS) {
            const int t = i / K_DIM;
            const int e = i % K_DIM;
            const size_t src = ((size_t)(r0 + base + t) * H + h) * K_DIM + e;
            Ks[t * KP + e] = t < cn ? k[src] : 0.f;
            Qs[t * KP + e] = t < cn ? q[src] : 0.f;
        }
        if (tid == 0) {
            float acc = 0.f;
            for (int t = 0; t < CHUNK; t++) {
                if (t < cn) {
                    acc += g[(size_t)(r0 + base + t) * HV + j];
                    bet[t] = beta[(size_t)(r0 + base + t) * HV + j];
                } else {
                    bet[t] = 0.f;
                }
                gam[t] = acc;
            }
            for (int t = 0; t < CHUNK; t++) {
                eg[t] = expf(gam[t]);
                tail[t] = t < cn ? expf(gam[cn - 1] - gam[t]) : 0.f;
            }
        }
        __syncthreads();

        // A (strictly lower) and M (lower with diagonal)
        for (int i = tid; i < CHUNK * CHUNK; i += THREADS) {
            const int t = i / CHUNK;
            const int s = i % CHUNK;
            float a = 0.f;
            float m = 0.f;
            if (s <= t) {
                float kk = 0.f;
                float qk = 0.f;
                for (int e = 0; e < K_DIM; e++) {
                    const float ks = Ks[s * KP + e];
                    kk = fmaf(Ks[t * KP + e], ks, kk);
                    qk = fmaf(Qs[t * KP + e], ks, qk);
                }
                const float decay = expf(gam[t] - gam[s]);
                a = s < t ? bet[t] * decay * kk : 0.f;
                m = scale * decay * qk;
            }
            A[t * CP + s] = a;
            M[t * CP + s] = m;
        }

        // R = V - e^gam K S0 (into U) and P = scale e^gam Q S0
        for (int t = lane; t < CHUNK; t += ROWSTEP) {
            float ks = 0.f;
            float qs = 0.f;
            for (int e = 0; e < K_DIM; e++) {
                const float s0 = S[e * VT + col];
                ks = fmaf(Ks[t * KP + e], s0, ks);
                qs = fmaf(Qs[t * KP + e], s0, qs);
            }
            const float vv = t < cn ? v[((size_t)(r0 + base + t) * HV + j) * V + c0 + col] : 0.f;
            U[t * VT + col] = vv - eg[t] * ks;
            P[t * VT + col] = scale * eg[t] * qs;
        }
        __syncthreads();

        // forward substitution, one thread per column: U_t = beta_t R_t - sum_{s<t} A_ts U_s
        if (tid < VT) {
            for (int t = 0; t < CHUNK; t++) {
                float u = bet[t] * U[t * VT + tid];
                for (int s = 0; s < t; s++) {
                    u = fmaf(-A[t * CP + s], U[s * VT + tid], u);
                }
                U[t * VT + tid] = u;
            }
        }
        __syncthreads();

        // O = P + M U
        for (int t = lane; t < cn; t += ROWSTEP) {
            float o = P[t * VT + col];
            for (int s = 0; s <= t; s++) {
                o = fmaf(M[t * CP + s], U[s * VT + col], o);
            }
            out[((size_t)(r0 + base + t) * HV + j) * V + c0 + col] = o;
        }

        // S = e^gam_last S + sum_s e^(gam_last - gam_s) k_s u_s^T
        const float el = eg[cn - 1];
        for (int e = lane; e < K_DIM; e += ROWSTEP) {
            float s1 = el * S[e * VT + col];
            for (int s = 0; s < cn; s++) {
                s1 = fmaf(Ks[s * KP + e] * tail[s], U[s * VT + col], s1);
            }
            S[e * VT + col] = s1;
        }
    }
    __syncthreads();
    for (int i = tid; i < K_DIM * VT; i += THREADS) {
        Sg[(size_t)(i / VT) * V + c0 + i % VT] = S[i];
    }
}
