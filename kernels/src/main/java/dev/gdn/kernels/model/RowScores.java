package dev.gdn.kernels.model;

/**
 * What scoring needs from rows of logits, without the logits: per row the log-sum-exp and the logit
 * of its target token, and for the rows asked for the k largest logits, best first (ties: the lower
 * token id first).
 *
 * @param lse       {@code [rows]}
 * @param target    {@code [rows]} the target's logit (0 for rows without a target)
 * @param topIds    {@code [rows, k]} (rows not asked for: unspecified)
 * @param topLogits {@code [rows, k]}
 * @param k         top entries per asked row
 */
public record RowScores(double[] lse, float[] target, int[] topIds, float[] topLogits, int k) {

    /**
     * Scores rows of logits on the CPU.
     *
     * @param logits  {@code [rows, vocab]}
     * @param targets {@code [rows]} token ids, or -1
     * @param want    {@code [rows]} whether the row's top k are wanted
     */
    public static RowScores of(float[] logits, int rows, int vocab, int[] targets, boolean[] want, int k) {
        RowScores r = new RowScores(new double[rows], new float[rows], new int[rows * k], new float[rows * k], k);
        r.fill(logits, 0, rows, vocab, targets, want, 0);
        return r;
    }

    /** Fills rows {@code at .. at + n} from {@code logits [n, vocab]} (row i of logits is row at + i). */
    void fill(float[] logits, int from, int n, int vocab, int[] targets, boolean[] want, int at) {
        int[] ids = new int[k];
        for (int i = 0; i < n; i++) {
            int off = (from + i) * vocab;
            int row = at + i;
            lse[row] = logSumExp(logits, off, vocab);
            target[row] = targets[row] >= 0 ? logits[off + targets[row]] : 0f;
            if (want[row] && k > 0) {
                topK(logits, off, vocab, ids);
                for (int j = 0; j < k; j++) {
                    topIds[row * k + j] = ids[j];
                    topLogits[row * k + j] = logits[off + ids[j]];
                }
            }
        }
    }

    private static double logSumExp(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += Math.exp(x[off + i] - max);
        }
        return max + Math.log(s);
    }

    /** The k largest values' indices, best first (ties: lower index first). */
    private static void topK(float[] x, int off, int n, int[] tokens) {
        int k = tokens.length;
        int filled = 0;
        for (int i = 0; i < n; i++) {
            float v = x[off + i];
            if (filled == k && v <= x[off + tokens[k - 1]]) {
                continue;
            }
            int j = filled < k ? filled++ : k - 1;
            while (j > 0 && x[off + tokens[j - 1]] < v) {
                tokens[j] = tokens[j - 1];
                j--;
            }
            tokens[j] = i;
        }
    }
}
