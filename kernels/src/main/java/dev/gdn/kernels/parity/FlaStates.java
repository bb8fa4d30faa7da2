package dev.gdn.kernels.parity;

import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.io.SafetensorsFormatException;
import dev.gdn.kernels.io.TensorInfo;
import java.util.Arrays;
import java.util.List;

/**
 * The recurrent states a reference fixture holds ({@code state.layers.i.*}, as FLA's cache lays them out)
 * and the report our memories are compared into: what a layer kind's
 * {@link dev.gdn.kernels.layers.LayerKind#compareFlaStates} reads and adds to.
 *
 * @param label which run the memories come from ("one pass", "pieces")
 */
public record FlaStates(SafetensorsFile file, ParityReport report, String label, double tolerance) {

    public boolean has(String name) {
        return file.contains(name);
    }

    /** Adds the comparison of {@code ours} with {@code fla} under {@code name} and this run's label. */
    public void add(String name, float[] ours, float[] fla) {
        report.add(name + " (" + label + ")", ours, fla, tolerance);
    }

    /**
     * Our short-convolution caches ({@code [W-1, dim]} per stream, oldest input first) against FLA's tensor
     * {@code name} ({@code [B, dim, W]}: W inputs per channel, the last W-1 of which are ours).
     */
    public void addConvCaches(String name, List<float[]> caches, int dim, int w) {
        int b = caches.size();
        float[] ref = checked(name, b, dim, w);
        List<float[]> ours = new java.util.ArrayList<>(b);
        List<float[]> theirs = new java.util.ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            ours.add(FlaStateLayout.convColumns(caches.get(i), w - 1, dim));
            theirs.add(FlaStateLayout.lastColumns(Arrays.copyOfRange(ref, i * dim * w, (i + 1) * dim * w), dim, w, w - 1));
        }
        add(name, concat(ours), concat(theirs));
    }

    /** Tensor {@code name}, which must have exactly {@code shape}. */
    public float[] checked(String name, int... shape) {
        TensorInfo t = file.info(name);
        if (!t.hasShape(shape)) {
            throw new SafetensorsFormatException(file.path() + ": '" + name + "' has shape " + t.shapeString()
                    + ", expected " + Arrays.toString(shape));
        }
        return file.floats(name);
    }

    /** The last {@code n} rows of each batch entry of a {@code [B, W, row]} tensor. */
    public float[] lastRows(String name, int b, int n, int row) {
        TensorInfo t = file.info(name);
        if (t.shape().length != 3 || t.shape()[0] != b || t.shape()[2] != row || t.shape()[1] < n) {
            throw new SafetensorsFormatException(file.path() + ": '" + name + "' has shape " + t.shapeString()
                    + ", expected [" + b + ", >=" + n + ", " + row + "]");
        }
        int w = (int) t.shape()[1];
        float[] all = file.floats(name);
        float[] out = new float[b * n * row];
        for (int i = 0; i < b; i++) {
            System.arraycopy(all, (i * w + (w - n)) * row, out, i * n * row, n * row);
        }
        return out;
    }

    /** The arrays one after another. */
    public static float[] concat(List<float[]> parts) {
        int n = parts.stream().mapToInt(a -> a.length).sum();
        float[] out = new float[n];
        int o = 0;
        for (float[] a : parts) {
            System.arraycopy(a, 0, out, o, a.length);
            o += a.length;
        }
        return out;
    }
}
