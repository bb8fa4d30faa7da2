package dev.gdn.kernels.layers.kda;

import dev.gdn.kernels.deltarule.DeltaRuleShape;

/**
 * The inputs of the Kimi delta rule (KDA: the gated delta rule with a decay per key channel) for one run
 * of tokens of one sequence. As {@link dev.gdn.kernels.deltarule.DeltaRuleInputs}, except the log-decay:
 * <ul>
 *   <li>{@code q, k: [rows, H, K]}, already L2-normalised (q is scaled by {@code scale} inside the rule)</li>
 *   <li>{@code v: [rows, HV, V]}</li>
 *   <li>{@code g: [rows, HV, K]}, log-decay per key channel: row a of a value head's state decays by exp(g[a])</li>
 *   <li>{@code beta: [rows, HV]}, write strength</li>
 * </ul>
 * The output {@code o: [rows, HV, V]} uses the same rows.
 */
public record KdaInputs(DeltaRuleShape shape, int firstRow, int tokens, float[] q, float[] k, float[] v, float[] g,
        float[] beta, float scale) {

    public KdaInputs {
        if (tokens < 0 || firstRow < 0) {
            throw new IllegalArgumentException("firstRow and tokens must be >= 0, got " + firstRow + ", " + tokens);
        }
        long rows = (long) firstRow + tokens;
        require("q", q, rows * shape.qkRowSize());
        require("k", k, rows * shape.qkRowSize());
        require("v", v, rows * shape.vRowSize());
        require("g", g, rows * shape.valueHeads() * shape.keyDim());
        require("beta", beta, rows * shape.valueHeads());
    }

    private static void require(String name, float[] a, long atLeast) {
        if (a.length < atLeast) {
            throw new IllegalArgumentException(name + " has " + a.length + " floats, needs at least " + atLeast);
        }
    }

    /** Offset of q/k of token t (relative to firstRow), head h. */
    public int qkOffset(int t, int h) {
        return (firstRow + t) * shape.qkRowSize() + h * shape.keyDim();
    }

    /** Offset of v/o of token t, value head j. */
    public int vOffset(int t, int j) {
        return (firstRow + t) * shape.vRowSize() + j * shape.valueDim();
    }

    /** Offset of beta of token t, value head j. */
    public int betaOffset(int t, int j) {
        return (firstRow + t) * shape.valueHeads() + j;
    }

    /** Offset of g of token t, value head j: {@code K} log-decays, one per key channel. */
    public int decayOffset(int t, int j) {
        return ((firstRow + t) * shape.valueHeads() + j) * shape.keyDim();
    }
}
