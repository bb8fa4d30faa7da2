package dev.gdn.kernels.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.config.ModelConfigParser;
import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A model written back as a checkpoint loads as the same model: for every fixture (each layer kind FLA
 * wrote, tied embeddings included) the file holds exactly the original's tensor names and shapes and
 * the model its fingerprint; and a Kimi Delta Attention model of random weights, written with the
 * kind's own names, loads with the fingerprint and logits it had.
 */
class CheckpointWriterTest {

    @ParameterizedTest
    @ValueSource(strings = {"gdn-tiny", "gdn-gva-negeig", "h1-swa", "h2-tiny"})
    void aFixtureWrittenBackHasItsTensorsAndItsFingerprint(String name, @TempDir Path dir) throws Exception {
        Path src = Fixtures.model(name);
        GatedDeltaNetModel m = GatedDeltaNetModel.load(src, CpuKernels.fast(1, 64));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        CheckpointWriter.write(m.config(), m.weights(), dir.resolve("model.safetensors"));
        try (SafetensorsFile a = SafetensorsFile.open(src.resolve("model.safetensors"));
                SafetensorsFile b = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertThat(b.tensors().keySet()).containsExactlyInAnyOrderElementsOf(a.tensors().keySet());
            for (String t : a.tensors().keySet()) {
                assertThat(b.info(t).shapeString()).as(t).isEqualTo(a.info(t).shapeString());
            }
        }
        assertThat(GatedDeltaNetModel.load(dir, CpuKernels.fast(1, 64)).fingerprint()).isEqualTo(m.fingerprint());
    }

    @Test
    void aKdaModelWrittenAsACheckpointLoadsAsItWas(@TempDir Path dir) throws Exception {
        var json = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        json.put("model_type", "kda").put("vocab_size", 64).put("hidden_size", 32).put("num_heads", 2)
                .put("num_v_heads", 4).put("head_dim", 8).put("expand_v", 1.0).put("num_hidden_layers", 2)
                .put("conv_size", 4).put("lower_bound", -5.0).put("safe_gate", true);
        ModelConfig c = ModelConfigParser.parse(json, "kda");
        GatedDeltaNetModel m = new GatedDeltaNetModel(c, RandomWeights.of(c, 8), CpuKernels.fast(1, 64));
        Files.writeString(dir.resolve("config.json"), json.toString());
        CheckpointWriter.write(c, m.weights(), dir.resolve("model.safetensors"));
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertThat(f.info("model.layers.1.attn.f_proj.1.weight").shapeString()).isEqualTo("[32, 8]");
            assertThat(f.info("model.layers.1.attn.dt_bias").shapeString()).isEqualTo("[32]");
            assertThat(f.info("model.layers.0.attn.g_proj.1.bias").shapeString()).isEqualTo("[32]");
        }
        GatedDeltaNetModel loaded = GatedDeltaNetModel.load(dir, CpuKernels.fast(1, 64));
        assertThat(loaded.fingerprint()).isEqualTo(m.fingerprint());
        int[] tokens = {5, 9, 2, 63, 0, 17};
        float[] a = m.forward(List.of(new StreamInput(m.newMemory(), tokens)), true).logits();
        float[] b = loaded.forward(List.of(new StreamInput(loaded.newMemory(), tokens)), true).logits();
        assertThat(b).containsExactly(a);
    }
}
