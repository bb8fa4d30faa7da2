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

// The kernel in parts, each inlined here in this order (the host inlines project headers once each):
#include "chunk_tc_mma.cuh"
#include "chunk_tc_moves.cuh"
#include "chunk_tc_prepare.cuh"
#include "chunk_tc_recur.cuh"
