// The gated delta rule, token by token, for a batch of streams whose states live in a device pool.
// Stream n owns rows [offsets[n], offsets[n+1]) (1 row = one token: the decode step; more = a run).
//
// Per token, value head j, with S = pool[slot[n], j] of shape [K, V] (fp32, row-major):
//   S = exp(g) S;  u = beta (v - S^T k);  S = S + k u^T;  o = S^T (scale q)
// computed as o = alpha S_old^T q' + (k . q') u. The block keeps its slice of S in registers for the
// whole run: the state is read from memory once and written once, whatever the run length.
//
// Grid (ceil(V / 32), HV, N); block (32, KSPLIT): thread (x, y) owns column x of the block's 32 and
// rows [y * K / KSPLIT, (y + 1) * K / KSPLIT). Every reduction has a fixed order, so a stream's result
// does not depend on the other streams of the batch.
//
// Compile-time: K_DIM (head key width) and KSPLIT (row slices per block), K_DIM % KSPLIT == 0;
// STATE_BF16: the pool holds the states in bf16 (read once into fp32 registers, rounded to nearest even
// once when written back), else fp32. COLS (1 or 2): columns per thread; with 2 (bf16 states, V even) a
// thread reads both columns' states with one 4-byte load, so a warp moves 128 bytes per row.
// KEY_DECAY: Kimi Delta Attention's rule, a log-decay per key channel (g [rows, HV, K]): row a of S decays
// by exp(g[a]) (each thread scales its own rows before the token's reads), the rest as above.

#ifndef K_DIM
#error "K_DIM must be defined"
#endif
#ifndef KSPLIT
#define KSPLIT 4
#endif
static_assert(K_DIM % KSPLIT == 0, "K_DIM must be a multiple of KSPLIT");

#define ROWS (K_DIM / KSPLIT)
#ifndef COLS
#define COLS 1
#endif
#define BCOLS (32 * COLS)

#include "gdn_common.cuh"
#define THREADS (32 * KSPLIT)

// Shared memory of one block: the partial sums of S^T k, S^T q and k.q (one per warp), and the block's u.
struct Shared {
    float red_k[KSPLIT][BCOLS];
    float red_q[KSPLIT][BCOLS];
    float red_kq[KSPLIT];
    float u[BCOLS];
};

// One token for the block's slice of S (held in s[]): reads k, q, v, g, beta of row t, writes the
// output row and leaves the updated slice in s[]. Every reduction has a fixed order.
__device__ __forceinline__ void advance_token(float (&s)[COLS][ROWS], Shared& sh, const float* __restrict__ q,
                                              const float* __restrict__ k, const float* __restrict__ v,
                                              const float* __restrict__ g, const float* __restrict__ beta,
                                              float* __restrict__ out, size_t t, int h, int j, int H, int HV,
                                              int V, int c, bool active, float scale)
{
    const int tx = threadIdx.x;
    const int ty = threadIdx.y;
    const int tid = ty * 32 + tx;
    const float* kh = k + (t * H + h) * K_DIM;
    const float* qh = q + (t * H + h) * K_DIM;
#ifdef KEY_DECAY
    const float* gh = g + (t * HV + j) * K_DIM;
#pragma unroll
    for (int i = 0; i < ROWS; i++) {
        const float a = expf(gh[ty * ROWS + i]);
#pragma unroll
        for (int col = 0; col < COLS; col++) {
            s[col][i] *= a;
        }
    }
    const float alpha = 1.f; // the decay is in s already
#else
    const float alpha = expf(g[t * HV + j]);
#endif
    const float b = beta[t * HV + j];

    float p = 0.f;
    for (int r = tid; r < K_DIM; r += THREADS) {
        p = fmaf(kh[r], qh[r] * scale, p);
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        p += __shfl_xor_sync(0xffffffffu, p, o);
    }
    if (tx == 0) {
        sh.red_kq[ty] = p;
    }

#pragma unroll
    for (int col = 0; col < COLS; col++) {
        float ak = 0.f;
        float aq = 0.f;
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            const int row = ty * ROWS + i;
            ak = fmaf(s[col][i], kh[row], ak);
            aq = fmaf(s[col][i], qh[row] * scale, aq);
        }
        sh.red_k[ty][tx * COLS + col] = ak;
        sh.red_q[ty][tx * COLS + col] = aq;
    }
    __syncthreads();

    if (ty == 0) {
        float kq = 0.f;
#pragma unroll
        for (int y = 0; y < KSPLIT; y++) {
            kq += sh.red_kq[y];
        }
#pragma unroll
        for (int col = 0; col < COLS; col++) {
            float sk = 0.f;
            float sq = 0.f;
#pragma unroll
            for (int y = 0; y < KSPLIT; y++) {
                sk += sh.red_k[y][tx * COLS + col];
                sq += sh.red_q[y][tx * COLS + col];
            }
            if (active) {
                const size_t vo = (t * HV + j) * V + c + col;
                const float u = b * (v[vo] - alpha * sk);
                sh.u[tx * COLS + col] = u;
                out[vo] = fmaf(kq, u, alpha * sq);
            } else {
                sh.u[tx * COLS + col] = 0.f;
            }
        }
    }
    __syncthreads();

#pragma unroll
    for (int col = 0; col < COLS; col++) {
        const float u = sh.u[tx * COLS + col];
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            s[col][i] = fmaf(kh[ty * ROWS + i], u, alpha * s[col][i]);
        }
    }
}

__device__ __forceinline__ void load_slice(float (&s)[COLS][ROWS], const state_t* __restrict__ S, int V, int c,
                                           bool active)
{
#pragma unroll
    for (int i = 0; i < ROWS; i++) {
        const state_t* row = S + (size_t)(threadIdx.y * ROWS + i) * V + c;
#if COLS == 2 && defined(STATE_BF16)
        const unsigned w = active ? *reinterpret_cast<const unsigned*>(row) : 0u;
        s[0][i] = __uint_as_float(w << 16);
        s[1][i] = __uint_as_float(w & 0xffff0000u);
#else
#pragma unroll
        for (int col = 0; col < COLS; col++) {
            s[col][i] = active ? state_get(row + col) : 0.f;
        }
#endif
    }
}

__device__ __forceinline__ void store_slice(const float (&s)[COLS][ROWS], state_t* __restrict__ S, int V, int c,
                                            bool active)
{
    if (active) {
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            state_t* row = S + (size_t)(threadIdx.y * ROWS + i) * V + c;
#if COLS == 2 && defined(STATE_BF16)
            *reinterpret_cast<unsigned*>(row) = bf16_round_bits(s[0][i]) | (bf16_round_bits(s[1][i]) << 16);
#else
#pragma unroll
            for (int col = 0; col < COLS; col++) {
                state_put(row + col, s[col][i]);
            }
#endif
        }
    }
}

extern "C" __global__ void __launch_bounds__(THREADS)
gated_delta_rule_recurrent(const float* __restrict__ q,      // [rows, H, K], L2-normalised
                           const float* __restrict__ k,      // [rows, H, K], L2-normalised
                           const float* __restrict__ v,      // [rows, HV, V]
                           const float* __restrict__ g,      // [rows, HV] log-decay ([rows, HV, K] with KEY_DECAY)
                           const float* __restrict__ beta,   // [rows, HV]
                           const int* __restrict__ offsets,  // [N + 1] first row of each stream
                           const int* __restrict__ slots,    // [N] pool slot of each stream
                           state_t* __restrict__ pool,       // [slots, HV, K, V]
                           float* __restrict__ out,          // [rows, HV, V]
                           int H, int HV, int V, float scale,
                           int maxTokens)                    // longer runs are left to the chunk kernel
{
    const int n = blockIdx.z;
    const int j = blockIdx.y;
    const int c = (blockIdx.x * 32 + threadIdx.x) * COLS;
    const bool active = c < V;
    if (offsets[n + 1] - offsets[n] > maxTokens) {
        return;
    }
    state_t* S = pool + ((size_t)slots[n] * HV + j) * (size_t)K_DIM * V;
    __shared__ Shared sh;
    float s[COLS][ROWS];
    load_slice(s, S, V, c, active);
    for (int t = offsets[n]; t < offsets[n + 1]; t++) {
        advance_token(s, sh, q, k, v, g, beta, out, (size_t)t, j / (HV / H), j, H, HV, V, c, active, scale);
        __syncthreads(); // the shared buffers are reused by the next token
    }
    store_slice(s, S, V, c, active);
}

// The decode step: exactly one token per stream, row n belonging to stream n (no offsets, no loop):
// the path of every one-token bundle.
extern "C" __global__ void __launch_bounds__(THREADS)
gated_delta_rule_step(const float* __restrict__ q,      // [N, H, K], L2-normalised
                      const float* __restrict__ k,      // [N, H, K], L2-normalised
                      const float* __restrict__ v,      // [N, HV, V]
                      const float* __restrict__ g,      // [N, HV] log-decay ([N, HV, K] with KEY_DECAY)
                      const float* __restrict__ beta,   // [N, HV]
                      const int* __restrict__ slots,    // [N] pool slot of each stream
                      state_t* __restrict__ pool,       // [slots, HV, K, V]
                      float* __restrict__ out,          // [N, HV, V]
                      int H, int HV, int V, float scale)
{
    const int n = blockIdx.z;
    const int j = blockIdx.y;
    const int c = (blockIdx.x * 32 + threadIdx.x) * COLS;
    const bool active = c < V;
    state_t* S = pool + ((size_t)slots[n] * HV + j) * (size_t)K_DIM * V;
    __shared__ Shared sh;
    float s[COLS][ROWS];
    load_slice(s, S, V, c, active);
    advance_token(s, sh, q, k, v, g, beta, out, (size_t)n, j / (HV / H), j, H, HV, V, c, active, scale);
    store_slice(s, S, V, c, active);
}

// Device-to-device copy of n4 float4s: the bandwidth ceiling the step is compared with.
extern "C" __global__ void copy_floats(const float4* __restrict__ src, float4* __restrict__ dst, size_t n4)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n4; i += (size_t)gridDim.x * blockDim.x) {
        dst[i] = src[i];
    }
}
