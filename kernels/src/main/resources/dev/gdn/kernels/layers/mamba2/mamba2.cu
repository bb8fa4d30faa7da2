// The Mamba2 layer of an H2 hybrid on the GPU: the causal convolution of the x, B, C channels, the
// selective scan (token by token, and chunked for runs), and the gated group RMSNorm. The projections
// (in_proj, out_proj) go through cuBLAS.
//
// Rows are the batch's tokens, stream after stream; stream n owns rows [offsets[n], offsets[n+1]) and
// its memory lives in pool slot slots[n]. Per row, in_proj writes zxbcdt [PROJ] = z [I], xBC [C], dt [H]
// with I = H P and C = I + 2 G N. Every per-stream computation reads only that stream's rows and state,
// in a fixed order, so a stream's results never depend on the batch around it.
//
// Compile-time: P_DIM, N_DIM (head dim, state size), TPR (threads sharing one state row, a power of two
// <= 32 dividing N_DIM), THREADS (block of the scans, a multiple of TPR whose rows divide P_DIM), KC
// (convolution width), CHUNK_T (tokens per chunk of the chunked scan).

#ifndef P_DIM
#define P_DIM 32
#endif
#ifndef N_DIM
#define N_DIM 16
#endif
#ifndef TPR
#define TPR 16
#endif
#ifndef THREADS
#define THREADS 128
#endif
#ifndef KC
#define KC 4
#endif
#ifndef CHUNK_T
#define CHUNK_T 64
#endif

// A thread's part of a head's state [P, N]: rows p = THREADS / TPR apart, columns n = TPR apart.
#define ROWS_PER_PASS (THREADS / TPR)
#define PASSES (P_DIM / ROWS_PER_PASS)
#define PER_ROW (N_DIM / TPR)
#define ELEMS (PASSES * PER_ROW)

#include "../../cuda/gdn_common.cuh"

__device__ __forceinline__ float softplus_f(float x)
{
    return x > 20.f ? x : (float)log1p(exp((double)x));
}

// One token's scan inputs as one vector: x of head h [P], then B and C of group g [N] each.
#define IN_LEN (P_DIM + 2 * N_DIM)
#define IN_LOADS ((IN_LEN + THREADS - 1) / THREADS)

// This thread's elements (tid, tid + THREADS, ...) of row r's input vector, into registers.
__device__ __forceinline__ void load_inputs(const float* __restrict__ xbc, int r, int C, int inner, int G, int h,
                                            int g, float* out)
{
    const float* row = xbc + (size_t)r * C;
#pragma unroll
    for (int i = 0; i < IN_LOADS; i++) {
        const int e = threadIdx.x + i * THREADS;
        float v = 0.f;
        if (e < P_DIM) {
            v = row[h * P_DIM + e];
        } else if (e < P_DIM + N_DIM) {
            v = row[inner + g * N_DIM + e - P_DIM];
        } else if (e < IN_LEN) {
            v = row[inner + G * N_DIM + g * N_DIM + e - P_DIM - N_DIM];
        }
        out[i] = v;
    }
}

// Sum over the TPR threads of one state row, in a fixed butterfly order.
__device__ __forceinline__ float row_sum(float v)
{
#pragma unroll
    for (int o = TPR / 2; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o, TPR);
    }
    return v;
}

// This thread's part of a head's state st [P, N] (rows row0 + i ROWS_PER_PASS, columns sub + j TPR) into
// registers s, and back.
__device__ __forceinline__ void load_state(float (&s)[ELEMS], const float* st, int row0, int sub)
{
#pragma unroll
    for (int i = 0; i < PASSES; i++) {
#pragma unroll
        for (int j = 0; j < PER_ROW; j++) {
            s[i * PER_ROW + j] = st[(row0 + i * ROWS_PER_PASS) * N_DIM + sub + j * TPR];
        }
    }
}

__device__ __forceinline__ void store_state(const float (&s)[ELEMS], float* st, int row0, int sub)
{
#pragma unroll
    for (int i = 0; i < PASSES; i++) {
#pragma unroll
        for (int j = 0; j < PER_ROW; j++) {
            st[(row0 + i * ROWS_PER_PASS) * N_DIM + sub + j * TPR] = s[i * PER_ROW + j];
        }
    }
}

// Depthwise causal convolution of width KC over the xBC channels of zxbcdt (columns [inner, inner + C)),
// plus bias (may be null), then SiLU, into xbc [rows, C]; continues each stream's cache [slots, KC-1, C]
// (oldest first) and leaves it holding the last inputs. Grid (ceil(C / 128), N), block 128.
extern "C" __global__ void mamba2_conv(const float* __restrict__ zxbcdt, int proj, int inner,
                                       const float* __restrict__ w, const float* __restrict__ bias,
                                       float* __restrict__ cache, const int* __restrict__ slots,
                                       const int* __restrict__ offsets, float* __restrict__ xbc, int C)
{
    const int n = blockIdx.y;
    const int d = blockIdx.x * 128 + threadIdx.x;
    if (d >= C) {
        return;
    }
    float* c = cache + (size_t)slots[n] * (KC - 1) * C;
    float win[KC];
    float wt[KC];
#pragma unroll
    for (int j = 0; j < KC; j++) {
        wt[j] = w[(size_t)d * KC + j];
    }
#pragma unroll
    for (int j = 0; j < KC - 1; j++) {
        win[j] = c[(size_t)j * C + d];
    }
    const float b = bias == nullptr ? 0.f : bias[d];
    for (int t = offsets[n]; t < offsets[n + 1]; t++) {
        win[KC - 1] = zxbcdt[(size_t)t * proj + inner + d];
        float s = 0.f;
#pragma unroll
        for (int j = 0; j < KC; j++) {
            s = fmaf(wt[j], win[j], s);
        }
        xbc[(size_t)t * C + d] = silu_f(bias == nullptr ? s : s + b);
#pragma unroll
        for (int j = 0; j < KC - 1; j++) {
            win[j] = win[j + 1];
        }
    }
#pragma unroll
    for (int j = 0; j < KC - 1; j++) {
        c[(size_t)j * C + d] = win[j];
    }
}

// dt [rows, H] = softplus(dt_raw + dt_bias) and decay [rows, H] = e^(dt A_h), dt_raw at column dtCol of
// zxbcdt [rows, proj]. Grid-stride over rows * H.
extern "C" __global__ void mamba2_dt(const float* __restrict__ zxbcdt, int proj, int dtCol,
                                     const float* __restrict__ dtBias, const float* __restrict__ negA,
                                     float* __restrict__ dt, float* __restrict__ decay, int rows, int H)
{
    const size_t total = (size_t)rows * H;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const int r = (int)(i / H);
        const int h = (int)(i % H);
        const float step = softplus_f(zxbcdt[(size_t)r * proj + dtCol + h] + dtBias[h]);
        dt[i] = step;
        decay[i] = (float)exp((double)(step * negA[h]));
    }
}

// The exact recurrence for every stream whose run has minLen..maxLen tokens (one-token steps included):
// per head h of group g, S = decay S + dt x B^T, y = S C + D_h x (dt, decay [rows, H] from mamba2_dt).
// state [slots, H, P, N] advanced in place (held in registers over the run); y [rows, I].
// Grid (H, N), block THREADS.
extern "C" __global__ void mamba2_scan(const float* __restrict__ xbc, const float* __restrict__ dt,
                                       const float* __restrict__ decays, const float* __restrict__ negA,
                                       const float* __restrict__ dSkip, float* __restrict__ state,
                                       const int* __restrict__ slots, const int* __restrict__ offsets,
                                       float* __restrict__ y, int H, int G, int minLen, int maxLen)
{
    const int h = blockIdx.x;
    const int n = blockIdx.y;
    const int r0 = offsets[n];
    const int len = offsets[n + 1] - r0;
    if (len < minLen || len > maxLen || len == 0) {
        return;
    }
    const int inner = H * P_DIM;
    const int C = inner + 2 * G * N_DIM;
    const int g = h / (H / G);
    const int sub = threadIdx.x % TPR;
    const int row0 = threadIdx.x / TPR;
    float* st = state + ((size_t)slots[n] * H + h) * P_DIM * N_DIM;
    float s[ELEMS];
    load_state(s, st, row0, sub);
    // a token's x [P], B [N], C [N] in one shared vector, double-buffered: the next token's inputs are
    // loaded into registers while this one computes, then stored, with one barrier per token
    __shared__ float in[2][IN_LEN];
    const float skip = dSkip[h];
    float next[IN_LOADS];
    load_inputs(xbc, r0, C, inner, G, h, g, next);
    float nextDt = dt[(size_t)r0 * H + h];
    float nextDecay = decays[(size_t)r0 * H + h];
#pragma unroll
    for (int i = 0; i < IN_LOADS; i++) {
        if (threadIdx.x + i * THREADS < IN_LEN) {
            in[0][threadIdx.x + i * THREADS] = next[i];
        }
    }
    __syncthreads();
    for (int r = r0; r < r0 + len; r++) {
        const int buf = (r - r0) & 1;
        const float step = nextDt;
        const float decay = nextDecay;
        if (r + 1 < r0 + len) {
            load_inputs(xbc, r + 1, C, inner, G, h, g, next);
            nextDt = dt[(size_t)(r + 1) * H + h];
            nextDecay = decays[(size_t)(r + 1) * H + h];
        }
        const float* xs = in[buf];
        const float* bs = in[buf] + P_DIM;
        const float* cs = in[buf] + P_DIM + N_DIM;
#pragma unroll
        for (int i = 0; i < PASSES; i++) {
            const int p = row0 + i * ROWS_PER_PASS;
            const float dx = step * xs[p];
            float out = 0.f;
#pragma unroll
            for (int j = 0; j < PER_ROW; j++) {
                const int k = sub + j * TPR;
                const float sv = fmaf(dx, bs[k], decay * s[i * PER_ROW + j]);
                s[i * PER_ROW + j] = sv;
                out = fmaf(sv, cs[k], out);
            }
            out = row_sum(out);
            if (sub == 0) {
                y[(size_t)r * inner + h * P_DIM + p] = fmaf(skip, xs[p], out);
            }
        }
        if (r + 1 < r0 + len) {
#pragma unroll
            for (int i = 0; i < IN_LOADS; i++) {
                if (threadIdx.x + i * THREADS < IN_LEN) {
                    in[buf ^ 1][threadIdx.x + i * THREADS] = next[i];
                }
            }
        }
        __syncthreads();
    }
    store_state(s, st, row0, sub);
}

// The chunked (SSD) form for every stream whose run has at least minLen tokens, CHUNK_T tokens at a
// time. Within a chunk, with lam_t = sum_(i <= t) dt_i A_h (in double) and S_0 the chunk's start:
//   y_t = e^lam_t S_0 C_t + sum_(s <= t) e^(lam_t - lam_s) dt_s (C_t . B_s) x_s + D_h x_t
//   S   = e^lam_last S_0 + sum_s e^(lam_last - lam_s) dt_s x_s B_s^T
// The chunk's coefficient matrix and its product with x run over all threads at once; the state stays
// in registers across chunks. Arrays as mamba2_scan. Grid (H, N), block THREADS.
extern "C" __global__ void mamba2_chunk(const float* __restrict__ xbc, const float* __restrict__ dt,
                                        const float* __restrict__ decays, const float* __restrict__ negA,
                                        const float* __restrict__ dSkip, float* __restrict__ state,
                                        const int* __restrict__ slots, const int* __restrict__ offsets,
                                        float* __restrict__ y, int H, int G, int minLen)
{
    const int h = blockIdx.x;
    const int n = blockIdx.y;
    const int r0 = offsets[n];
    const int len = offsets[n + 1] - r0;
    if (len < minLen || len == 0) {
        return;
    }
    const int inner = H * P_DIM;
    const int C = inner + 2 * G * N_DIM;
    const int g = h / (H / G);
    const int tid = threadIdx.x;
    const int sub = tid % TPR;
    const int row0 = tid / TPR;
    float* st = state + ((size_t)slots[n] * H + h) * P_DIM * N_DIM;
    float s[ELEMS];
    load_state(s, st, row0, sub);
    __shared__ float xs[CHUNK_T][P_DIM];
    __shared__ float bs[CHUNK_T][N_DIM];
    __shared__ float cs[CHUNK_T][N_DIM];
    __shared__ float m[CHUNK_T][CHUNK_T];
    __shared__ float acc[CHUNK_T][P_DIM];
    __shared__ float dts[CHUNK_T];
    __shared__ float start[CHUNK_T];
    __shared__ float into[CHUNK_T];
    __shared__ double lam[CHUNK_T];
    __shared__ float lastDecay;
    const float a = negA[h];
    const float skip = dSkip[h];
    for (int c0 = 0; c0 < len; c0 += CHUNK_T) {
        const int cl = min(CHUNK_T, len - c0);
        for (int e = tid; e < cl * P_DIM; e += THREADS) {
            const int t = e / P_DIM;
            xs[t][e % P_DIM] = xbc[(size_t)(r0 + c0 + t) * C + h * P_DIM + e % P_DIM];
        }
        for (int e = tid; e < cl * N_DIM; e += THREADS) {
            const int t = e / N_DIM;
            const float* row = xbc + (size_t)(r0 + c0 + t) * C + inner;
            bs[t][e % N_DIM] = row[g * N_DIM + e % N_DIM];
            cs[t][e % N_DIM] = row[G * N_DIM + g * N_DIM + e % N_DIM];
        }
        for (int t = tid; t < cl; t += THREADS) {
            dts[t] = dt[(size_t)(r0 + c0 + t) * H + h];
        }
        __syncthreads();
        if (tid == 0) {
            double sum = 0.0;
            for (int t = 0; t < cl; t++) {
                sum += (double)dts[t] * (double)a;
                lam[t] = sum;
            }
            lastDecay = (float)exp(sum);
        }
        __syncthreads();
        for (int t = tid; t < cl; t += THREADS) {
            start[t] = (float)exp(lam[t]);
            into[t] = (float)exp(lam[cl - 1] - lam[t]) * dts[t];
        }
        // m[t][s] = e^(lam_t - lam_s) dt_s (C_t . B_s) for s <= t
        for (int e = tid; e < cl * cl; e += THREADS) {
            const int t = e / cl;
            const int u = e % cl;
            float v = 0.f;
            if (u <= t) {
                float dot = 0.f;
#pragma unroll 8
                for (int k = 0; k < N_DIM; k++) {
                    dot = fmaf(cs[t][k], bs[u][k], dot);
                }
                v = (float)exp(lam[t] - lam[u]) * dts[u] * dot;
            }
            m[t][u] = v;
        }
        __syncthreads();
        // the chunk start's part: acc[t][p] = e^lam_t (S_0 C_t)[p]
        for (int t = 0; t < cl; t++) {
#pragma unroll
            for (int i = 0; i < PASSES; i++) {
                float out = 0.f;
#pragma unroll
                for (int j = 0; j < PER_ROW; j++) {
                    out = fmaf(s[i * PER_ROW + j], cs[t][sub + j * TPR], out);
                }
                out = row_sum(out);
                if (sub == 0) {
                    acc[t][row0 + i * ROWS_PER_PASS] = start[t] * out;
                }
            }
        }
        __syncthreads();
        // y_t = acc_t + sum_s m[t][s] x_s + D x_t
        for (int e = tid; e < cl * P_DIM; e += THREADS) {
            const int t = e / P_DIM;
            const int p = e % P_DIM;
            float v = acc[t][p];
            for (int u = 0; u <= t; u++) {
                v = fmaf(m[t][u], xs[u][p], v);
            }
            y[(size_t)(r0 + c0 + t) * inner + h * P_DIM + p] = fmaf(skip, xs[t][p], v);
        }
        // S = e^lam_last S + sum_s e^(lam_last - lam_s) dt_s x_s B_s^T
        const float decayAll = lastDecay;
#pragma unroll
        for (int i = 0; i < PASSES; i++) {
            const int p = row0 + i * ROWS_PER_PASS;
#pragma unroll
            for (int j = 0; j < PER_ROW; j++) {
                const int k = sub + j * TPR;
                float v = decayAll * s[i * PER_ROW + j];
                for (int u = 0; u < cl; u++) {
                    v = fmaf(into[u] * xs[u][p], bs[u][k], v);
                }
                s[i * PER_ROW + j] = v;
            }
        }
        __syncthreads();
    }
    store_state(s, st, row0, sub);
}

// u [rows, I] = u * silu(z) (z: the first I columns of zxbcdt), then RMS-normalised in G groups of I / G
// channels and times the norm weight w [I]. Grid (rows * G), block 128.
extern "C" __global__ void mamba2_gate_norm(float* __restrict__ u, const float* __restrict__ zxbcdt, int proj,
                                            const float* __restrict__ w, int inner, int G, float eps)
{
    __shared__ float sh[128];
    const int r = blockIdx.x / G;
    const int g = blockIdx.x % G;
    const int per = inner / G;
    float* x = u + (size_t)r * inner + g * per;
    const float* z = zxbcdt + (size_t)r * proj + g * per;
    float ss = 0.f;
    for (int i = threadIdx.x; i < per; i += 128) {
        const float v = x[i] * silu_f(z[i]);
        x[i] = v;
        ss = fmaf(v, v, ss);
    }
    sh[threadIdx.x] = ss;
    __syncthreads();
    for (int o = 64; o > 0; o >>= 1) {
        if (threadIdx.x < o) {
            sh[threadIdx.x] += sh[threadIdx.x + o];
        }
        __syncthreads();
    }
    const float inv = (float)(1.0 / sqrt((double)(sh[0] / per) + (double)eps));
    const float* wg = w + g * per;
    for (int i = threadIdx.x; i < per; i += 128) {
        x[i] = x[i] * inv * wg[i];
    }
}
