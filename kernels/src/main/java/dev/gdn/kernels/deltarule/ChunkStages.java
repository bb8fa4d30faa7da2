package dev.gdn.kernels.deltarule;

import java.util.ArrayList;
import java.util.List;

/**
 * The stages of the GPU's tensor-core chunkwise rule ({@code gated_delta_rule_chunk_tc.cu}) on the CPU, in
 * double precision: the counterpart each stage's GPU intermediates are checked against, and a second
 * derivation of the chunkwise form checked against the token-by-token reference.
 *
 * <p>Within a chunk of up to {@value ChunkedGatedDeltaRule#CHUNK} tokens with cumulative log-decays
 * {@code gam} (from the chunk's start), one value head, starting state {@code S0 [K, V]}:
 * <pre>
 *   A  = strictly lower part of diag(beta) (Gam o K K^T),   Gam[t, s] = e^(gam_t - gam_s), s &lt;= t
 *   W  = (I + A)^-1 diag(beta e^gam) K,   U = (I + A)^-1 diag(beta) V
 *   M  = scale (Gam o Q K^T), lower with the diagonal
 *   Qg = scale diag(e^gam) Q,   Kt = diag(e^(gam_last - gam)) K,   decay = e^gam
 * </pre>
 * (the preparation stage, every chunk at once), then chunk after chunk (the recurrence stage):
 * {@code Vn = U - W S0}, {@code O = Qg S0 + M Vn}, {@code S = e^gam_last S0 + Kt^T Vn}.
 * Rows are laid out as the GPU's scratch is: row t of the run, M's columns relative to its chunk's start.
 */
public final class ChunkStages {
    private static final int C = ChunkedGatedDeltaRule.CHUNK;

    private ChunkStages() {
    }

    /**
     * The preparation stage's outputs for one value head of one run.
     *
     * @param w     {@code [T, K]} W (the GPU stores -W)
     * @param u     {@code [T, V]}
     * @param m     {@code [T, C]}, row t's columns for the tokens of its chunk
     * @param qg    {@code [T, K]}
     * @param kt    {@code [T, K]}
     * @param decay {@code [T]} e^gam
     */
    public record Prepared(int tokens, int keyDim, int valueDim, double[] w, double[] u, double[] m, double[] qg,
            double[] kt, double[] decay) {
    }

    /** The preparation stage for value head {@code j} of {@code in}. */
    public static Prepared prepare(DeltaRuleInputs in, int j) {
        DeltaRuleShape s = in.shape();
        int kd = s.keyDim();
        int vd = s.valueDim();
        int h = s.keyHeadOf(j);
        int n = in.tokens();
        Prepared p = new Prepared(n, kd, vd, new double[n * kd], new double[n * vd], new double[n * C],
                new double[n * kd], new double[n * kd], new double[n]);
        double[] gam = new double[C];
        for (int c0 = 0; c0 < n; c0 += C) {
            int cn = Math.min(C, n - c0);
            double sum = 0;
            for (int t = 0; t < cn; t++) {
                sum += in.g()[in.gateOffset(c0 + t, j)];
                gam[t] = sum;
            }
            for (int t = 0; t < cn; t++) {
                int row = c0 + t;
                int qo = in.qkOffset(row, h);
                double beta = in.beta()[in.gateOffset(row, j)];
                double eg = Math.exp(gam[t]);
                p.decay()[row] = eg;
                // right-hand sides, then the forward substitution (I + A) X = R, row by row
                for (int a = 0; a < kd; a++) {
                    p.w()[row * kd + a] = beta * eg * in.k()[qo + a];
                    p.qg()[row * kd + a] = in.scale() * eg * in.q()[qo + a];
                    p.kt()[row * kd + a] = Math.exp(gam[cn - 1] - gam[t]) * in.k()[qo + a];
                }
                int vo = in.vOffset(row, j);
                for (int b = 0; b < vd; b++) {
                    p.u()[row * vd + b] = beta * in.v()[vo + b];
                }
                for (int i = 0; i < cn; i++) {
                    int io = in.qkOffset(c0 + i, h);
                    double gamma = i <= t ? Math.exp(gam[t] - gam[i]) : 0;
                    p.m()[row * C + i] = in.scale() * gamma * dot(in.q(), qo, in.k(), io, kd);
                    if (i < t) {
                        double aTi = beta * gamma * dot(in.k(), qo, in.k(), io, kd);
                        for (int a = 0; a < kd; a++) {
                            p.w()[row * kd + a] -= aTi * p.w()[(c0 + i) * kd + a];
                        }
                        for (int b = 0; b < vd; b++) {
                            p.u()[row * vd + b] -= aTi * p.u()[(c0 + i) * vd + b];
                        }
                    }
                }
            }
        }
        return p;
    }

    /**
     * The recurrence stage: walks the chunks from {@code state} ({@code [K, V]}, advanced in place).
     *
     * @param out {@code [T, V]}, the outputs
     * @return the state after each chunk, in order (copies)
     */
    public static List<double[]> recur(Prepared p, double[] state, double[] out) {
        int kd = p.keyDim();
        int vd = p.valueDim();
        List<double[]> states = new ArrayList<>();
        double[] vn = new double[C * vd];
        for (int c0 = 0; c0 < p.tokens(); c0 += C) {
            int cn = Math.min(C, p.tokens() - c0);
            for (int t = 0; t < cn; t++) {
                int row = c0 + t;
                for (int b = 0; b < vd; b++) {
                    double ws = 0;
                    double qs = 0;
                    for (int a = 0; a < kd; a++) {
                        ws += p.w()[row * kd + a] * state[a * vd + b];
                        qs += p.qg()[row * kd + a] * state[a * vd + b];
                    }
                    vn[t * vd + b] = p.u()[row * vd + b] - ws;
                    out[row * vd + b] = qs;
                }
            }
            for (int t = 0; t < cn; t++) {
                for (int i = 0; i <= t; i++) {
                    double mti = p.m()[(c0 + t) * C + i];
                    for (int b = 0; b < vd; b++) {
                        out[(c0 + t) * vd + b] += mti * vn[i * vd + b];
                    }
                }
            }
            double last = p.decay()[c0 + cn - 1];
            for (int a = 0; a < kd; a++) {
                for (int b = 0; b < vd; b++) {
                    double x = last * state[a * vd + b];
                    for (int t = 0; t < cn; t++) {
                        x += p.kt()[(c0 + t) * kd + a] * vn[t * vd + b];
                    }
                    state[a * vd + b] = x;
                }
            }
            states.add(state.clone());
        }
        return states;
    }

    private static double dot(float[] x, int xo, float[] y, int yo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) x[xo + i] * y[yo + i];
        }
        return s;
    }
}
