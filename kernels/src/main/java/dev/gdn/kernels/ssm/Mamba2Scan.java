package dev.gdn.kernels.ssm;

import dev.gdn.kernels.cpu.VectorMath;

/**
 * The Mamba2 selective scan of one stream's run, for every head: the exact token-by-token recurrence,
 * and the chunked (SSD) form that turns a chunk of tokens into dense products. Both start from the
 * stream's state and leave it advanced, so a stream may arrive in pieces of any size.
 *
 * <p>Per head h of group g, with decay a_t = e^(dt_t A_h):
 * <pre>
 *   S_t = a_t S_(t-1) + dt_t x_t B_t^T                  S: [P, N]
 *   y_t = S_t C_t + D_h x_t
 * </pre>
 * Within a chunk, with cumulative log-decays lam_t = sum_(i &lt;= t) dt_i A_h and S_0 the chunk's start:
 * <pre>
 *   y_t = e^lam_t S_0 C_t + sum_(s &lt;= t) e^(lam_t - lam_s) dt_s (C_t . B_s) x_s + D_h x_t
 *   S_n = e^lam_last S_0 + sum_s e^(lam_last - lam_s) dt_s x_s B_s^T
 * </pre>
 * Every exponent is &lt;= 0 and the cumulative sums are kept in double, as in the chunkwise gated
 * delta rule (see CHUNKWISE.md).
 *
 * <p>Arrays: {@code xbc [rows, C]} the activated convolution output (x {@code [I]}, then B {@code [G, N]},
 * then C {@code [G, N]} in each row, C = I + 2GN); {@code dt [rows, H]} after the softplus;
 * {@code negA, d [H]}; {@code state [H, P, N]}; {@code y [rows, I]} (written for the run's rows).
 */
public final class Mamba2Scan {
    private final int heads;
    private final int headDim;
    private final int stateSize;
    private final int groups;
    private final int inner;
    private final int convDim;

    /**
     * @throws IllegalArgumentException when a size is not positive or groups does not divide heads
     */
    public Mamba2Scan(int heads, int headDim, int stateSize, int groups) {
        if (heads < 1 || headDim < 1 || stateSize < 1 || groups < 1 || heads % groups != 0) {
            throw new IllegalArgumentException("Mamba2 scan of H=" + heads + ", P=" + headDim + ", N=" + stateSize
                    + ", G=" + groups + ": sizes must be >= 1 and G must divide H");
        }
        this.heads = heads;
        this.headDim = headDim;
        this.stateSize = stateSize;
        this.groups = groups;
        this.inner = heads * headDim;
        this.convDim = inner + 2 * groups * stateSize;
    }

    /** The token-by-token recurrence over rows {@code [r0, r0 + len)}. */
    public void recurrent(float[] xbc, float[] dt, float[] negA, float[] d, int r0, int len, float[] state,
            float[] y) {
        int p = headDim;
        int n = stateSize;
        for (int r = r0; r < r0 + len; r++) {
            int xo = r * convDim;
            for (int h = 0; h < heads; h++) {
                int g = h / (heads / groups);
                int bo = xo + inner + g * n;
                int co = xo + inner + groups * n + g * n;
                float step = dt[r * heads + h];
                float decay = (float) Math.exp(step * negA[h]);
                float skip = d[h];
                for (int i = 0; i < p; i++) {
                    float xi = xbc[xo + h * p + i];
                    float dx = step * xi;
                    int so = (h * p + i) * n;
                    float out = 0f;
                    for (int k = 0; k < n; k++) {
                        float sv = Math.fma(dx, xbc[bo + k], decay * state[so + k]);
                        state[so + k] = sv;
                        out = Math.fma(sv, xbc[co + k], out);
                    }
                    y[r * inner + h * p + i] = Math.fma(skip, xi, out);
                }
            }
        }
    }

    /** The chunked (SSD) form over rows {@code [r0, r0 + len)} in chunks of {@code chunk} tokens. */
    public void chunked(VectorMath m, float[] xbc, float[] dt, float[] negA, float[] d, int r0, int len, int chunk,
            float[] state, float[] y) {
        if (chunk < 1) {
            throw new IllegalArgumentException("chunk must be >= 1, got " + chunk);
        }
        int p = headDim;
        int n = stateSize;
        float[] cb = new float[chunk * chunk];
        double[] lam = new double[chunk];
        float[] row = new float[p];
        for (int c0 = r0; c0 < r0 + len; c0 += chunk) {
            int len0 = Math.min(chunk, r0 + len - c0);
            for (int g = 0; g < groups; g++) {
                // C_t . B_s of the group, s <= t
                for (int t = 0; t < len0; t++) {
                    int co = (c0 + t) * convDim + inner + groups * n + g * n;
                    for (int s = 0; s <= t; s++) {
                        cb[t * chunk + s] = m.dot(xbc, co, xbc, (c0 + s) * convDim + inner + g * n, n);
                    }
                }
                for (int h = g * (heads / groups); h < (g + 1) * (heads / groups); h++) {
                    double acc = 0;
                    for (int t = 0; t < len0; t++) {
                        acc += (double) dt[(c0 + t) * heads + h] * negA[h];
                        lam[t] = acc;
                    }
                    int so = h * p * n;
                    for (int t = 0; t < len0; t++) {
                        int r = c0 + t;
                        int co = r * convDim + inner + groups * n + g * n;
                        float start = (float) Math.exp(lam[t]);
                        for (int i = 0; i < p; i++) {
                            row[i] = start * m.dot(state, so + i * n, xbc, co, n);
                        }
                        for (int s = 0; s <= t; s++) {
                            float coef = (float) Math.exp(lam[t] - lam[s]) * dt[(c0 + s) * heads + h] * cb[t * chunk + s];
                            m.axpy(coef, xbc, (c0 + s) * convDim + h * p, row, 0, p);
                        }
                        int yo = r * inner + h * p;
                        for (int i = 0; i < p; i++) {
                            y[yo + i] = Math.fma(d[h], xbc[r * convDim + h * p + i], row[i]);
                        }
                    }
                    // S = e^lam_last S + sum_s e^(lam_last - lam_s) dt_s x_s B_s^T
                    double last = lam[len0 - 1];
                    m.scale((float) Math.exp(last), state, so, p * n);
                    for (int s = 0; s < len0; s++) {
                        int r = c0 + s;
                        float w = (float) Math.exp(last - lam[s]) * dt[r * heads + h];
                        int bo = r * convDim + inner + g * n;
                        for (int i = 0; i < p; i++) {
                            m.axpy(w * xbc[r * convDim + h * p + i], xbc, bo, state, so + i * n, n);
                        }
                    }
                }
            }
        }
    }
}
