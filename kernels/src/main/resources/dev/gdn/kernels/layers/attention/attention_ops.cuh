#pragma once
// The sliding-window attention mixer's operations of model_ops.cu (included at their place in it):
// RoPE, attention over each stream's ring buffer and its new rows, and the ring's update.
// Rotates the pair (x1, x2) by angle p * invFreq (angle in double, as the CPU does).
__device__ __forceinline__ void rope_pair(float x1, float x2, double p, double invFreq, float& y1, float& y2)
{
    const double a = p * invFreq;
    const float c = (float)cos(a);
    const float s = (float)sin(a);
    y1 = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
    y2 = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
}

// Causal sliding-window attention over each stream's ring buffer and its new rows.
// The keys in view are, oldest first, the cached[n] ring entries (ring slot (start[n] + i) % W) and
// then the stream's rows; RoPE positions count from the oldest key in view. Query t sees the last W
// keys up to its own.  q, out: [rows, Hq * Dh]; k, v: [rows, Hkv * Dh]; rings: [slots, W, Hkv * Dh].
// Grid (N, Hq), block 128, dynamic shared memory (Dh + W + 128) floats.
extern "C" __global__ void window_attention(const float* __restrict__ q, const float* __restrict__ k,
                                            const float* __restrict__ v, const float* __restrict__ ringK,
                                            const float* __restrict__ ringV, const int* __restrict__ slots,
                                            const int* __restrict__ offsets, const int* __restrict__ cached,
                                            const int* __restrict__ start, const double* __restrict__ invFreq,
                                            float* __restrict__ out, int Hq, int Hkv, int Dh, int W, float scale)
{
    extern __shared__ float smem[];
    float* qr = smem;
    float* scores = smem + Dh;
    float* red = scores + W;
    const int n = blockIdx.x;
    const int h = blockIdx.y;
    const int kvh = h / (Hq / Hkv);
    const int tid = threadIdx.x;
    const int half = Dh / 2;
    const int qRow = Hq * Dh;
    const int kvRow = Hkv * Dh;
    const int r0 = offsets[n];
    const int len = offsets[n + 1] - r0;
    const int nc = cached[n];
    const float* rk = ringK + (size_t)slots[n] * W * kvRow;
    const float* rv = ringV + (size_t)slots[n] * W * kvRow;

    for (int t = 0; t < len; t++) {
        const int pos = nc + t;
        const int lo = max(0, pos - W + 1);
        const int count = pos - lo + 1;
        const float* qh = q + (size_t)(r0 + t) * qRow + h * Dh;
        for (int i = tid; i < half; i += blockDim.x) {
            rope_pair(qh[i], qh[i + half], (double)pos, invFreq[i], qr[i], qr[i + half]);
        }
        __syncthreads();
        float m = -__int_as_float(0x7f800000);
        for (int e = tid; e < count; e += blockDim.x) {
            const int ke = lo + e;
            const float* kr = ke < nc ? rk + (size_t)((start[n] + ke) % W) * kvRow + kvh * Dh
                                      : k + (size_t)(r0 + ke - nc) * kvRow + kvh * Dh;
            float dot = 0.f;
            for (int i = 0; i < half; i++) {
                float k1, k2;
                rope_pair(kr[i], kr[i + half], (double)ke, invFreq[i], k1, k2);
                dot = fmaf(qr[i], k1, dot);
                dot = fmaf(qr[i + half], k2, dot);
            }
            const float sc = dot * scale;
            scores[e] = sc;
            m = fmaxf(m, sc);
        }
        red[tid] = m;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (tid < s) {
                red[tid] = fmaxf(red[tid], red[tid + s]);
            }
            __syncthreads();
        }
        m = red[0];
        __syncthreads();
        float sum = 0.f;
        for (int e = tid; e < count; e += blockDim.x) {
            const float p = expf(scores[e] - m);
            scores[e] = p;
            sum += p;
        }
        red[tid] = sum;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (tid < s) {
                red[tid] += red[tid + s];
            }
            __syncthreads();
        }
        const float inv = 1.0f / red[0];
        for (int d = tid; d < Dh; d += blockDim.x) {
            float acc = 0.f;
            for (int e = 0; e < count; e++) {
                const int ke = lo + e;
                const float* vr = ke < nc ? rv + (size_t)((start[n] + ke) % W) * kvRow + kvh * Dh
                                          : v + (size_t)(r0 + ke - nc) * kvRow + kvh * Dh;
                acc = fmaf(scores[e] * inv, vr[d], acc);
            }
            out[(size_t)(r0 + t) * qRow + h * Dh + d] = acc;
        }
        __syncthreads();
    }
}

// Appends each stream's new k, v rows to its ring ([slots, W, row]); the next position of stream n
// lands in slot (next[n] + t) % W. Only the last W rows of a run survive. Grid (N), block 256.
extern "C" __global__ void ring_append(const float* __restrict__ k, const float* __restrict__ v,
                                       float* __restrict__ ringK, float* __restrict__ ringV,
                                       const int* __restrict__ slots, const int* __restrict__ offsets,
                                       const int* __restrict__ next, int W, int row)
{
    const int n = blockIdx.x;
    const int r0 = offsets[n];
    const int len = offsets[n + 1] - r0;
    float* rk = ringK + (size_t)slots[n] * W * row;
    float* rv = ringV + (size_t)slots[n] * W * row;
    for (int t = max(0, len - W); t < len; t++) {
        const size_t dst = (size_t)((next[n] + t) % W) * row;
        const size_t src = (size_t)(r0 + t) * row;
        for (int i = threadIdx.x; i < row; i += blockDim.x) {
            rk[dst + i] = k[src + i];
            rv[dst + i] = v[src + i];
        }
    }
}
