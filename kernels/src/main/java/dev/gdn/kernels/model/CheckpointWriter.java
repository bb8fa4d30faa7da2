package dev.gdn.kernels.model;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.io.SafetensorsWriter;
import dev.gdn.kernels.layers.LayerKind;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.model.ModelWeights.BlockWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Objects;

/**
 * Writes a model's weights as the {@code model.safetensors} of an FLA checkpoint, in the names and shapes
 * {@link ModelWeights#load} reads (fp32). A mixer's names come from its kind: its {@link LayerKind#load}
 * is run against the weights themselves, each tensor it asks for answered with the next of its
 * {@link LayerKind#tensors} (the two list a kind's tensors in the same order), and recorded.
 */
public final class CheckpointWriter {
    private CheckpointWriter() {
    }

    /**
     * A checkpoint folder of seeded random weights for a config ({@code config.json} as given, and
     * {@code model.safetensors}): a model of any shape the runtime reads, for tests and benchmarks.
     *
     * @param configJson the config.json's text (checked as a model's config is)
     * @return {@code dir}
     */
    public static Path writeRandom(String configJson, long seed, Path dir) throws IOException {
        ModelConfig c = dev.gdn.kernels.config.ModelConfigParser.parse(
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(configJson), dir.resolve("config.json").toString());
        java.nio.file.Files.createDirectories(dir);
        java.nio.file.Files.writeString(dir.resolve("config.json"), configJson);
        write(c, RandomWeights.of(c, seed), dir.resolve("model.safetensors"));
        return dir;
    }

    /** Writes {@code w} as {@code file} (a {@code model.safetensors}). */
    public static void write(ModelConfig c, ModelWeights w, Path file) throws IOException {
        SafetensorsWriter out = new SafetensorsWriter();
        int d = c.hiddenSize();
        int inter = c.intermediateSize();
        out.addF32("model.embeddings.weight", w.embeddings(), c.vocabSize(), d);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            BlockWeights b = w.layers().get(l);
            out.addF32(p + "attn_norm.weight", b.attnNorm(), d);
            LayerKind kind = LayerKinds.of(c, l);
            Iterator<float[]> present = kind.tensors(b.mixer()).stream().filter(Objects::nonNull).iterator();
            kind.load((name, shape) -> {
                if (!present.hasNext()) {
                    throw new IllegalStateException("layer kind " + kind.name() + " reads " + name
                            + " beyond the tensors it lists");
                }
                float[] t = present.next();
                long[] dims = java.util.Arrays.stream(shape).asLongStream().toArray();
                out.addF32(name, t, dims);
                return t;
            }, p + "attn.", c);
            if (present.hasNext()) {
                throw new IllegalStateException("layer kind " + kind.name() + " lists tensors its load does not read");
            }
            out.addF32(p + "mlp_norm.weight", b.mlpNorm(), d);
            out.addF32(p + "mlp.gate_proj.weight", b.mlp().gate(), inter, d);
            out.addF32(p + "mlp.up_proj.weight", b.mlp().up(), inter, d);
            out.addF32(p + "mlp.down_proj.weight", b.mlp().down(), d, inter);
        }
        out.addF32("model.norm.weight", w.finalNorm(), d);
        if (!c.tieWordEmbeddings()) {
            out.addF32("lm_head.weight", w.lmHead(), c.vocabSize(), d);
        }
        if (w.score() != null) {
            out.addF32("score.weight", w.score(), c.labels().size(), d);
            if (w.scoreBias() != null) {
                out.addF32("score.bias", w.scoreBias(), c.labels().size());
            }
        }
        out.write(file);
    }
}
