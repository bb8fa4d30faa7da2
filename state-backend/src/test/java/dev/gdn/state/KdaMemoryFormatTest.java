package dev.gdn.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.config.ModelConfigParser;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.RandomWeights;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A Kimi Delta Attention model's memories in the stream-memory format: kind 3 in the layer header (the
 * Gated DeltaNet layer's dimensions and parts under a code of its own), written as version 4, read back
 * bit for bit, and refused by name where a Gated DeltaNet layer of the same sizes is expected; inspection
 * summarises and exports its layers under the delta-rule names ({@code state inspect}).
 */
class KdaMemoryFormatTest {

    static ModelConfig config(String modelType) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", modelType).put("vocab_size", 64).put("hidden_size", 32).put("num_heads", 2)
                .put("head_dim", 8).put("expand_v", 1.0).put("num_hidden_layers", 2).put("conv_size", 4);
        return ModelConfigParser.parse(c, modelType + " config.json");
    }

    @Test
    void aKdaMemoryIsKind3AndComesBackBitForBit() throws Exception {
        ModelConfig c = config("kda");
        GatedDeltaNetModel m = new GatedDeltaNetModel(c, RandomWeights.of(c, 1), CpuKernels.fast(1, 64));
        StreamMemory mem = m.newMemory();
        m.forward(List.of(new StreamInput(mem, new int[] {3, 1, 4, 1, 5, 9})), false);
        MemoryLayout layout = MemoryLayout.of(c);
        assertThat(layout).hasToString("[kda[HV=2, K=8, V=8, conv=3x(16,16,16)], kda[HV=2, K=8, V=8, conv=3x(16,16,16)]]");
        assertThat(StreamMemoryFormat.versionFor(layout)).isEqualTo(4);
        byte[] bytes = StreamMemoryFormatTest.write(mem, layout, StorageDType.FP32);
        assertThat(StreamMemoryFormatTest.read(bytes, layout)).isEqualTo(mem);

        MemoryLayout gdn = MemoryLayout.of(config("gated_deltanet"));
        assertThat(gdn.matches(mem)).isFalse();
        assertThatThrownBy(() -> StreamMemoryFormatTest.read(bytes, gdn)).isInstanceOf(MemoryFormatException.class)
                .hasMessage("layer 0 has kind 3, expected 0 (deltanet[HV=2, K=8, V=8, conv=3x(16,16,16)])");
    }

    @Test
    void inspectionReportsAndExportsKdaLayers(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        ModelConfig c = config("kda");
        GatedDeltaNetModel m = new GatedDeltaNetModel(c, RandomWeights.of(c, 2), CpuKernels.fast(1, 64));
        StreamMemory mem = m.newMemory();
        m.forward(List.of(new StreamInput(mem, new int[] {7, 7, 2})), false);
        MemoryLayout layout = MemoryLayout.of(c);
        String summary = MemoryInspection.summary(mem, layout, StorageDType.FP32);
        assertThat(summary).startsWith("tokens=3 bytes=" + layout.payloadBytes(StorageDType.FP32) + " ");
        double[] norms = MemoryInspection.layerNorms(mem);
        assertThat(norms).hasSize(2);
        for (double n : norms) {
            assertThat(n).isPositive();
        }
        java.nio.file.Path file = dir.resolve("kda.safetensors");
        MemoryInspection.export(mem, layout, file);
        try (var f = dev.gdn.kernels.io.SafetensorsFile.open(file)) {
            for (int l = 0; l < 2; l++) {
                float[] state = ((dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory) mem.layer(l)).state();
                assertThat(f.info("layers." + l + ".recurrent_state").hasShape(2, 8, 8)).isTrue();
                assertThat(f.floats("layers." + l + ".recurrent_state")).containsExactly(state);
                assertThat(f.info("layers." + l + ".conv_state.v").hasShape(3, 16)).isTrue();
            }
        }
    }
}
