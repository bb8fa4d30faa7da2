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
// Compile-time: K_DIM (head key width) and KSPLIT (row slices per block), K_DIM % KSPLIT == 0.

#ifndef K_DIM
#error "K_DIM must be defined"
#endif
#ifndef KSPLIT
#define KSPLIT 4
#endif
static_assert(K_DIM % KSPLIT == 0, "K_DIM must be a multiple of KSPLIT");

#define ROWS (K_DIM / KSPLIT)
#define THREADS (32 * KSPLIT)

extern "C" __global__ void __launch_bounds__(THREADS)
gated_delta_rule_recurrent(const float* __restrict__ q,      // [rows, H, K], L2-normalised
                           const float* __restrict__ k,      // [rows, H, K], L2-normalised
                           const float* __restrict__ v,      // [rows, HV, V]
                           const float* __restrict__ g,      // [rows, HV] log-decay
                           const float* __restrict__ beta,   // [rows, HV]
                           const int* __restrict__ offsets,  // [N + 1] first row of each stream
                           const int* __restrict__ slots,    // [N] pool slot of each stream
                           float* __restrict__ pool,         // [slots, HV, K, V]
                           float* __restrict__ out,          // [rows, HV, V]
                           int H, int HV, int V, float scale)
{
    const int n = blockIdx.z;
    const int j = blockIdx.y;
    const int tx = threadIdx.x;
    const int ty = threadIdx.y;
    const int tid = ty * 32 + tx;
    const int c = blockIdx.x * 32 + tx;
    const int h = j / (HV / H);
    const bool active = c < V;

    float* S = pool + ((size_t)slots[n] * HV + j) * (size_t)K_DIM * V;

    __shared__ float red_k[KSPLIT][32];
    __shared__ float red_q[KSPLIT][32];
    __shared__ float red_kq[THREADS];
    __shared__ float u_s[32];

    float s[ROWS];
#pragma unroll
    for (int i = 0; i < ROWS; i++) {
        s[i] = active ? S[(size_t)(ty * ROWS + i) * V + c] : 0.f;
    }

    const int first = offsets[n];
    const int last = offsets[n + 1];
    for (int t = first; t < last; t++) {
        const float* kh = k + ((size_t)t * H + h) * K_DIM;
        const float* qh = q + ((size_t)t * H + h) * K_DIM;
        const float alpha = expf(g[(size_t)t * HV + j]);
        const float b = beta[(size_t)t * HV + j];

        float p = 0.f;
        for (int r = tid; r < K_DIM; r += THREADS) {
            p = fmaf(kh[r], qh[r] * scale, p);
        }
        red_kq[tid] = p;

        float ak = 0.f;
        float aq = 0.f;
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            const int row = ty * ROWS + i;
            ak = fmaf(s[i], kh[row], ak);
            aq = fmaf(s[i], qh[row] * scale, aq);
        }
        red_k[ty][tx] = ak;
        red_q[ty][tx] = aq;
        __syncthreads();

        if (ty == 0) {
            float kq = 0.f;
            for (int i = 0; i < THREADS; i++) {
                kq += red_kq[i];
            }
            float sk = 0.f;
            float sq = 0.f;
#pragma unroll
            for (int y = 0; y < KSPLIT; y++) {
                sk += red_k[y][tx];
                sq += red_q[y][tx];
            }
            if (active) {
                const size_t vo = ((size_t)t * HV + j) * V + c;
                const float u = b * (v[vo] - alpha * sk);
                u_s[tx] = u;
                out[vo] = fmaf(kq, u, alpha * sq);
            } else {
                u_s[tx] = 0.f;
            }
        }
        __syncthreads();

        const float u = u_s[tx];
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            s[i] = fmaf(kh[ty * ROWS + i], u, alpha * s[i]);
        }
        __syncthreads(); // shared buffers are reused by the next token
    }

    if (active) {
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            S[(size_t)(ty * ROWS + i) * V + c] = s[i];
        }
    }
}

// The decode step (exactly one token per stream, no offsets): the same arithmetic as one iteration of
// the run kernel above, without its loop and its third barrier; the path of every one-token bundle.
extern "C" __global__ void __launch_bounds__(32 * KSPLIT)
gated_delta_rule_step(const float* __restrict__ q,      // [N, H, K], L2-normalised
                      const float* __restrict__ k,      // [N, H, K], L2-normalised
                      const float* __restrict__ v,      // [N, HV, V]
                      const float* __restrict__ g,      // [N, HV] log-decay
                      const float* __restrict__ beta,   // [N, HV]
                      const int* __restrict__ slots,    // [N] pool slot of each stream
                      float* __restrict__ pool,         // [slots, HV, K, V]
                      float* __restrict__ out,          // [N, HV, V]
                      int H, int HV, int V, float scale)
{
    const int n = blockIdx.z;
    const int j = blockIdx.y;
    const int tx = threadIdx.x;
    const int ty = threadIdx.y;
    const int c = blockIdx.x * 32 + tx;
    const int h = j / (HV / H);
    const bool active = c < V;

    const float* kh = k + ((size_t)n * H + h) * K_DIM;
    const float* qh = q + ((size_t)n * H + h) * K_DIM;
    float* S = pool + ((size_t)slots[n] * HV + j) * (size_t)K_DIM * V;
    const float alpha = expf(g[(size_t)n * HV + j]);
    const float b = beta[(size_t)n * HV + j];

    __shared__ float red_k[KSPLIT][32];
    __shared__ float red_q[KSPLIT][32];
    __shared__ float red_kq[32 * KSPLIT];
    __shared__ float u_s[32];

    // k . (scale q): a fixed-order block reduction
    const int tid = ty * 32 + tx;
    float p = 0.f;
    for (int r = tid; r < K_DIM; r += 32 * KSPLIT) {
        p = fmaf(kh[r], qh[r] * scale, p);
    }
    red_kq[tid] = p;

    float s[ROWS];
    float ak = 0.f;
    float aq = 0.f;
#pragma unroll
    for (int i = 0; i < ROWS; i++) {
        const int row = ty * ROWS + i;
        s[i] = active ? S[(size_t)row * V + c] : 0.f;
        ak = fmaf(s[i], kh[row], ak);
        aq = fmaf(s[i], qh[row] * scale, aq);
    }
    red_k[ty][tx] = ak;
    red_q[ty][tx] = aq;
    __syncthreads();

    if (ty == 0) {
        float kq = 0.f;
        for (int t = 0; t < 32 * KSPLIT; t++) {
            kq += red_kq[t];
        }
        float sk = 0.f;
        float sq = 0.f;
#pragma unroll
        for (int y = 0; y < KSPLIT; y++) {
            sk += red_k[y][tx];
            sq += red_q[y][tx];
        }
        if (active) {
            const size_t vo = ((size_t)n * HV + j) * V + c;
            const float u = b * (v[vo] - alpha * sk);
            u_s[tx] = u;
            out[vo] = fmaf(kq, u, alpha * sq);
        } else {
            u_s[tx] = 0.f;
        }
    }
    __syncthreads();

    if (active) {
        const float u = u_s[tx];
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            const int row = ty * ROWS + i;
            S[(size_t)row * V + c] = fmaf(kh[row], u, alpha * s[i]);
        }
    }
}

// Device-to-device copy of n4 float4s: the bandwidth ceiling the step is compared with.
extern "C" __global__ void copy_floats(const float4* __restrict__ src, float4* __restrict__ dst, size_t n4)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n4; i += (size_t)gridDim.x * blockDim.x) {
        dst[i] = src[i];
    }
}
