package dev.gdn.kernels.cuda;

/**
 * The device arrays of one gated delta rule launch (addresses from {@link CudaDevice#allocate}), for
 * {@code N} streams over {@code rows} tokens in all.
 *
 * @param q       {@code [rows, H, K]} fp32, L2-normalised
 * @param k       {@code [rows, H, K]} fp32, L2-normalised
 * @param v       {@code [rows, HV, V]} fp32
 * @param g       {@code [rows, HV]} fp32 log-decays
 * @param beta    {@code [rows, HV]} fp32 write strengths
 * @param offsets {@code [N + 1]} int: stream n owns rows {@code [offsets[n], offsets[n+1])} (unused by the decode step)
 * @param slots   {@code [N]} int: stream n's state is {@code pool[slots[n]]}
 * @param pool    {@code [slots, HV, K, V]} fp32 states, advanced in place
 * @param out     {@code [rows, HV, V]} fp32 outputs
 */
public record DeltaRuleArrays(long q, long k, long v, long g, long beta, long offsets, long slots, long pool,
        long out) {
}
