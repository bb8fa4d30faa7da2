package dev.gdn.kernels.deltarule;

/**
 * The inputs of the gated delta rule for one run of tokens of one sequence, passed as one record so
 * that argument order cannot drift between implementations.
 *
 * <p>Arrays hold rows of a larger batch; this sequence owns rows {@code [firstRow, firstRow + tokens)}:
 * <ul>
 *   <li>{@code q, k: [rows, H, K]}, already L2-normalised (q is scaled by {@code scale} inside the rule)</li>
 *   <li>{@code v: [rows, HV, V]}</li>
 *   <li>{@code g: [rows, HV]}, log-decay: alpha = exp(g)</li>
 *   <li>{@code beta: [rows, HV]}, write strength</li>
 * </ul>
 * The output {@code o: [rows, HV, V]} uses the same rows.
 *
 * @param shape    head counts and widths
 * @param firstRow first row of this sequence in the arrays
 * @param tokens   T, number of rows of this sequence (&gt;= 0)
 * @param scale    multiplier of q, normally K^-0.5
 */
public record DeltaRuleInputs(DeltaRuleShape shape, int firstRow, int tokens, float[] q, float[] k, float[] v,
        float[] g, float[] beta, float scale) {

    public DeltaRuleInputs {
        if (tokens < 0 || firstRow < 0) {
            throw new IllegalArgumentException("firstRow and tokens must be >= 0, got " + firstRow + ", " + tokens);
        }
        int rows = firstRow + tokens;
        require("q", q, (long) rows * shape.qkRowSize());
        require("k", k, (long) rows * shape.qkRowSize());
        require("v", v, (long) rows * shape.vRowSize());
        require("g", g, (long) rows * shape.valueHeads());
        require("beta", beta, (long) rows * shape.valueHeads());
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

    /** Offset of v/o of token t (relative to firstRow), value head j. */
    public int vOffset(int t, int j) {
        return (firstRow + t) * shape.vRowSize() + j * shape.valueDim();
    }

    /** Offset of g/beta of token t (relative to firstRow), value head j. */
    public int gateOffset(int t, int j) {
        return (firstRow + t) * shape.valueHeads() + j;
    }
}
