package dev.gdn.kernels.parity;

import dev.gdn.kernels.config.Mamba2Config;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.io.SafetensorsFormatException;
import dev.gdn.kernels.io.TensorInfo;
import dev.gdn.kernels.layers.attention.AttentionLayerMemory;
import dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory;
import dev.gdn.kernels.layers.mamba2.Mamba2LayerMemory;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.kernels.ops.RotaryEmbedding;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks a model against an expected-output file in FLA's fixture format: {@code input_ids [B,T]},
 * {@code logits [B,T,vocab]} and, optionally, the final cache {@code state.layers.N.*}.
 */
public final class ModelParity {
    /** Inputs and references of one model case. */
    public record Expected(int batch, int tokens, int[] inputIds, float[] logits, SafetensorsFile file) {
    }

    private ModelParity() {
    }

    /**
     * Runs the model over the file's input_ids in one pass and, when {@code pieces} is given, again in
     * those pieces with the memory carried between them, comparing logits and final memories.
     *
     * @param pieces run lengths summing to T, or null
     * @throws SafetensorsFormatException / IllegalArgumentException on bad input (shapes, pieces)
     */
    public static ParityReport check(GatedDeltaNetModel model, Path expectedFile, int[] pieces, double tolerance) {
        ModelConfig c = model.config();
        try (SafetensorsFile f = SafetensorsFile.open(expectedFile)) {
            TensorInfo ids = f.info("input_ids");
            if (ids.shape().length != 2) {
                throw new SafetensorsFormatException(expectedFile + ": input_ids has shape " + ids.shapeString()
                        + ", expected [B, T]");
            }
            int b = (int) ids.shape()[0];
            int t = (int) ids.shape()[1];
            TensorInfo li = f.info("logits");
            if (!li.hasShape(b, t, c.vocabSize())) {
                throw new SafetensorsFormatException(expectedFile + ": logits has shape " + li.shapeString()
                        + ", expected [" + b + ", " + t + ", " + c.vocabSize() + "] from input_ids and config.json");
            }
            int[] input = f.ints("input_ids");
            float[] ref = f.floats("logits");
            if (pieces != null && Arrays.stream(pieces).sum() != t) {
                throw new IllegalArgumentException("pieces " + Arrays.toString(pieces) + " sum to "
                        + Arrays.stream(pieces).sum() + ", expected T = " + t);
            }
            if (pieces != null && Arrays.stream(pieces).anyMatch(p -> p < 1)) {
                throw new IllegalArgumentException("pieces " + Arrays.toString(pieces) + " must all be >= 1");
            }
            ParityReport report = new ParityReport();
            int[] whole = {t};
            List<StreamMemory> full = run(model, input, b, t, whole, report, ref, "logits (one pass)", tolerance);
            compareStates(model, f, full, report, "one pass", tolerance);
            if (pieces != null) {
                List<StreamMemory> streamed = run(model, input, b, t, pieces, report, ref,
                        "logits (pieces " + summary(pieces) + ")", tolerance);
                compareStates(model, f, streamed, report, "pieces", tolerance);
            }
            return report;
        }
    }

    private static List<StreamMemory> run(GatedDeltaNetModel model, int[] input, int b, int t, int[] pieces,
            ParityReport report, float[] ref, String name, double tol) {
        int vocab = model.config().vocabSize();
        List<StreamMemory> mems = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            mems.add(model.newMemory());
        }
        float[] logits = new float[b * t * vocab];
        int start = 0;
        for (int p : pieces) {
            List<StreamInput> batch = new ArrayList<>();
            for (int i = 0; i < b; i++) {
                batch.add(new StreamInput(mems.get(i), Arrays.copyOfRange(input, i * t + start, i * t + start + p)));
            }
            var res = model.forward(batch);
            for (int i = 0; i < b; i++) {
                System.arraycopy(res.logitsOf(i), 0, logits, (i * t + start) * vocab, p * vocab);
            }
            start += p;
        }
        report.add(name, logits, ref, tol);
        return mems;
    }

    private static void compareStates(GatedDeltaNetModel model, SafetensorsFile f, List<StreamMemory> mems,
            ParityReport report, String label, double tol) {
        ModelConfig c = model.config();
        int b = mems.size();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "state.layers." + l + ".";
            if (c.isAttentionLayer(l)) {
                if (!f.contains(p + "attn_state.0")) {
                    continue;
                }
                var a = c.attention().orElseThrow();
                RotaryEmbedding rope = new RotaryEmbedding(a.headDim(), a.ropeTheta());
                List<float[]> keys = new ArrayList<>();
                List<float[]> vals = new ArrayList<>();
                for (StreamMemory m : mems) {
                    AttentionLayerMemory am = (AttentionLayerMemory) m.layer(l);
                    keys.add(FlaStateLayout.rotatedKeys(am, a.numKvHeads(), a.headDim(), rope));
                    vals.add(FlaStateLayout.orderedValues(am));
                }
                int row = a.numKvHeads() * a.headDim();
                report.add(p + "attn_state.0 (" + label + ")", concat(keys), lastRows(f, p + "attn_state.0", b,
                        keys.get(0).length / row, row), tol);
                report.add(p + "attn_state.1 (" + label + ")", concat(vals), lastRows(f, p + "attn_state.1", b,
                        vals.get(0).length / row, row), tol);
                continue;
            }
            if (!f.contains(p + "recurrent_state")) {
                continue;
            }
            if (c.isMamba2Layer(l)) {
                compareMamba2(c.mamba2().orElseThrow(), f, mems, l, report, label, tol);
                continue;
            }
            int hv = c.numValueHeads();
            List<float[]> states = new ArrayList<>();
            for (StreamMemory m : mems) {
                states.add(FlaStateLayout.valueFirst((DeltaNetLayerMemory) m.layer(l), hv, c.headDim(),
                        c.headValueDim()));
            }
            report.add(p + "recurrent_state (" + label + ")", concat(states),
                    checked(f, p + "recurrent_state", b, hv, c.headValueDim(), c.headDim()), tol);
            if (!c.useShortConv()) {
                continue;
            }
            int w = c.convSize();
            for (int which = 0; which < 3; which++) {
                String name = p + "conv_state." + which;
                if (!f.contains(name)) {
                    continue;
                }
                int dim = which == 2 ? c.valueDim() : c.keyDim();
                float[] fla = checked(f, name, b, dim, w);
                List<float[]> ours = new ArrayList<>();
                List<float[]> theirs = new ArrayList<>();
                for (int i = 0; i < b; i++) {
                    DeltaNetLayerMemory dm = (DeltaNetLayerMemory) mems.get(i).layer(l);
                    float[] cache = which == 0 ? dm.convQ() : which == 1 ? dm.convK() : dm.convV();
                    ours.add(FlaStateLayout.convColumns(cache, w - 1, dim));
                    theirs.add(FlaStateLayout.lastColumns(Arrays.copyOfRange(fla, i * dim * w, (i + 1) * dim * w), dim,
                            w, w - 1));
                }
                report.add(name + " (" + label + ")", concat(ours), concat(theirs), tol);
            }
        }
    }

    /** A Mamba2 layer's SSM state {@code [B, H, P, N]} and convolution cache {@code [B, C, Kc]} (FLA keeps Kc inputs). */
    private static void compareMamba2(Mamba2Config m, SafetensorsFile f, List<StreamMemory> mems, int l,
            ParityReport report, String label, double tol) {
        String p = "state.layers." + l + ".";
        int b = mems.size();
        List<float[]> states = new ArrayList<>();
        for (StreamMemory mem : mems) {
            states.add(((Mamba2LayerMemory) mem.layer(l)).ssm());
        }
        report.add(p + "recurrent_state (" + label + ")", concat(states),
                checked(f, p + "recurrent_state", b, m.numHeads(), m.headDim(), m.stateSize()), tol);
        String name = p + "conv_state";
        if (!f.contains(name)) {
            return;
        }
        int w = m.convKernel();
        int dim = m.convDim();
        float[] fla = checked(f, name, b, dim, w);
        List<float[]> ours = new ArrayList<>();
        List<float[]> theirs = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            ours.add(FlaStateLayout.convColumns(((Mamba2LayerMemory) mems.get(i).layer(l)).conv(), w - 1, dim));
            theirs.add(FlaStateLayout.lastColumns(Arrays.copyOfRange(fla, i * dim * w, (i + 1) * dim * w), dim, w,
                    w - 1));
        }
        report.add(name + " (" + label + ")", concat(ours), concat(theirs), tol);
    }

    private static float[] checked(SafetensorsFile f, String name, int... shape) {
        TensorInfo t = f.info(name);
        if (!t.hasShape(shape)) {
            throw new SafetensorsFormatException(f.path() + ": '" + name + "' has shape " + t.shapeString()
                    + ", expected " + Arrays.toString(shape));
        }
        return f.floats(name);
    }

    /** The last {@code n} rows of each batch entry of a {@code [B, W, row]} tensor. */
    private static float[] lastRows(SafetensorsFile f, String name, int b, int n, int row) {
        TensorInfo t = f.info(name);
        if (t.shape().length != 3 || t.shape()[0] != b || t.shape()[2] != row || t.shape()[1] < n) {
            throw new SafetensorsFormatException(f.path() + ": '" + name + "' has shape " + t.shapeString()
                    + ", expected [" + b + ", >=" + n + ", " + row + "]");
        }
        int w = (int) t.shape()[1];
        float[] all = f.floats(name);
        float[] out = new float[b * n * row];
        for (int i = 0; i < b; i++) {
            System.arraycopy(all, (i * w + (w - n)) * row, out, i * n * row, n * row);
        }
        return out;
    }

    private static float[] concat(List<float[]> parts) {
        int n = parts.stream().mapToInt(a -> a.length).sum();
        float[] out = new float[n];
        int o = 0;
        for (float[] a : parts) {
            System.arraycopy(a, 0, out, o, a.length);
            o += a.length;
        }
        return out;
    }

    private static String summary(int[] pieces) {
        if (pieces.length <= 6) {
            return Arrays.toString(pieces);
        }
        return "[" + pieces[0] + ", " + pieces[1] + ", ... " + pieces.length + " pieces]";
    }
}
