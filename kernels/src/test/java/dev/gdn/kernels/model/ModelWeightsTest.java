package dev.gdn.kernels.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.io.SafetensorsFormatException;
import dev.gdn.kernels.io.SafetensorsWriter;
import dev.gdn.kernels.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint whose tensors do not match its config.json is refused with the tensor named. */
class ModelWeightsTest {
    @TempDir
    Path dir;

    /** Copies gdn-gva-negeig, dropping {@code drop}, reshaping {@code reshape} and adding {@code extra}. */
    private Path variant(String drop, String reshape, String extra) throws IOException {
        return variant(drop, reshape, extra, null, 0, 0, 0f);
    }

    /** As above, and {@code count} elements of {@code poison} from {@code first} set to {@code value}. */
    private Path variant(String drop, String reshape, String extra, String poison, int first, int count, float value)
            throws IOException {
        Path src = Fixtures.model("gdn-gva-negeig");
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve("model.safetensors"))) {
            for (var t : f.tensors().values()) {
                if (t.name().equals(drop)) {
                    continue;
                }
                float[] data = f.floats(t.name());
                if (t.name().equals(poison)) {
                    java.util.Arrays.fill(data, first, first + count, value);
                }
                long[] shape = t.name().equals(reshape) ? new long[] {data.length} : t.shape();
                w.addF32(t.name(), data, shape);
            }
        }
        if (extra != null) {
            w.addF32(extra, new float[] {1f}, 1);
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    @Test
    void loadsWhenEverythingMatches() throws IOException {
        GatedDeltaNetModel m = GatedDeltaNetModel.load(variant(null, null, null), CpuKernels.reference());
        assertThat(m.weights().lmHead()).isSameAs(m.weights().embeddings());
        assertThat(m.forward(List.of(new StreamInput(m.newMemory(), new int[] {1, 2}))).logits()).hasSize(2 * 300);
    }

    @Test
    void nonFiniteWeightsAreRefusedNamingTheTensorAndTheFirstIndex() throws IOException {
        Path nan = variant(null, null, null, "model.layers.0.attn.q_proj.weight", 37, 100, Float.NaN);
        assertThatThrownBy(() -> GatedDeltaNetModel.load(nan, CpuKernels.reference()))
                .isInstanceOf(SafetensorsFormatException.class)
                .hasMessageContaining("tensor 'model.layers.0.attn.q_proj.weight' holds 100 non-finite value(s), "
                        + "the first NaN at flat index 37");
        Path inf = variant(null, null, null, "model.norm.weight", 5, 1, Float.NEGATIVE_INFINITY);
        assertThatThrownBy(() -> GatedDeltaNetModel.load(inf, CpuKernels.reference()))
                .hasMessageContaining("tensor 'model.norm.weight' holds 1 non-finite value(s), the first -Infinity "
                        + "at flat index 5");
    }

    @Test
    void missingTensor() throws IOException {
        Path d = variant("model.layers.1.attn.dt_bias", null, null);
        assertThatThrownBy(() -> GatedDeltaNetModel.load(d, CpuKernels.reference()))
                .isInstanceOf(SafetensorsFormatException.class)
                .hasMessageContaining("missing tensor 'model.layers.1.attn.dt_bias'");
    }

    @Test
    void misShapedTensor() throws IOException {
        Path d = variant(null, "model.layers.0.attn.q_proj.weight", null);
        assertThatThrownBy(() -> GatedDeltaNetModel.load(d, CpuKernels.reference()))
                .hasMessageContaining("'model.layers.0.attn.q_proj.weight' has shape [6144], expected [64, 96]");
    }

    @Test
    void tensorTheConfigDoesNotAccountFor() throws IOException {
        Path d = variant(null, null, "model.layers.0.attn.mystery");
        assertThatThrownBy(() -> GatedDeltaNetModel.load(d, CpuKernels.reference()))
                .hasMessageContaining("does not account for: [model.layers.0.attn.mystery]");
    }

    @Test
    void badTokensAndForeignMemoriesAreRefused() {
        GatedDeltaNetModel tiny = GatedDeltaNetModel.load(Fixtures.model("gdn-tiny"), CpuKernels.reference());
        GatedDeltaNetModel gva = GatedDeltaNetModel.load(Fixtures.model("gdn-gva-negeig"), CpuKernels.reference());
        assertThatThrownBy(() -> tiny.forward(List.of(new StreamInput(tiny.newMemory(), new int[] {384}))))
                .hasMessageContaining("token 0 = 384 is outside the vocabulary [0, 384)");
        assertThatThrownBy(() -> tiny.forward(List.of(new StreamInput(tiny.newMemory(), new int[0]))))
                .hasMessageContaining("tokens is empty");
        assertThatThrownBy(() -> tiny.forward(List.of(new StreamInput(gva.newMemory(), new int[] {1}))))
                .hasMessageContaining("memory was computed by model " + gva.fingerprint() + ", this model is " + tiny.fingerprint());
    }
}
