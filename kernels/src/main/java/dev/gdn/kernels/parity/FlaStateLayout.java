package dev.gdn.kernels.parity;


/**
 * Conversions from this project's stream memory layout to the one FLA's cache uses that more than one layer
 * kind shares (a kind's own are in its package), for comparisons only (the conversion happens at the boundary, never in the compute path).
 *
 * <ul>
 *   <li>delta-rule state: ours {@code [HV, K, V]}, FLA {@code [HV, V, K]} (value-first)</li>
 *   <li>short-conv cache: ours {@code [W-1, D]} (last W-1 inputs), FLA {@code [D, W]} (last W inputs)</li>
 * </ul>
 */
public final class FlaStateLayout {
    private FlaStateLayout() {
    }

    /** {@code [HV, K, V]} to {@code [HV, V, K]}. */
    public static float[] valueFirst(float[] state, int heads, int k, int v) {
        float[] out = new float[state.length];
        for (int h = 0; h < heads; h++) {
            int base = h * k * v;
            for (int a = 0; a < k; a++) {
                for (int b = 0; b < v; b++) {
                    out[base + b * k + a] = state[base + a * v + b];
                }
            }
        }
        return out;
    }

    /** Our cache {@code [W-1, D]} as FLA's last W-1 columns: {@code [D, W-1]}. */
    public static float[] convColumns(float[] cache, int history, int dim) {
        float[] out = new float[dim * history];
        for (int j = 0; j < history; j++) {
            for (int d = 0; d < dim; d++) {
                out[d * history + j] = cache[j * dim + d];
            }
        }
        return out;
    }

    /** The last {@code history} columns of FLA's {@code [D, W]} cache: {@code [D, history]}. */
    public static float[] lastColumns(float[] fla, int dim, int width, int history) {
        float[] out = new float[dim * history];
        for (int d = 0; d < dim; d++) {
            System.arraycopy(fla, d * width + (width - history), out, d * history, history);
        }
        return out;
    }

}
