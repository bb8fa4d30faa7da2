package dev.gdn.kernels.parity;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.io.SafetensorsFormatException;
import dev.gdn.kernels.io.TensorInfo;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
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

    /** Each layer's memories against the fixture's states, compared by the layer's kind. */
    private static void compareStates(GatedDeltaNetModel model, SafetensorsFile f, List<StreamMemory> mems,
            ParityReport report, String label, double tol) {
        ModelConfig c = model.config();
        FlaStates fla = new FlaStates(f, report, label, tol);
        for (int l = 0; l < c.numLayers(); l++) {
            List<LayerMemory> layer = new ArrayList<>(mems.size());
            for (StreamMemory m : mems) {
                layer.add(m.layer(l));
            }
            LayerKinds.of(c, l).compareFlaStates(c, l, layer, fla);
        }
    }

    private static String summary(int[] pieces) {
        if (pieces.length <= 6) {
            return Arrays.toString(pieces);
        }
        return "[" + pieces[0] + ", " + pieces[1] + ", ... " + pieces.length + " pieces]";
    }
}
