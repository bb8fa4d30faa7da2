package dev.gdn.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.layers.mamba2.Mamba2LayerMemory;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamMemory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Inspection and export of an H2 memory: every layer type, with its shapes and its values. */
class MemoryInspectionTest {

    @Test
    void anH2MemoryExportsItsMamba2StateAndCacheBesideTheOtherLayers(@TempDir Path dir) throws Exception {
        GatedDeltaNetModel h2 = TestModels.model("h2-tiny");
        StreamMemory m = TestModels.memoryAfter(h2, 25, 4);
        MemoryLayout layout = TestModels.layout(h2);
        Path file = dir.resolve("memory.safetensors");
        MemoryInspection.export(m, layout, file);
        Mamba2LayerMemory l0 = (Mamba2LayerMemory) m.layer(0);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThat(f.info("layers.0.ssm_state").intShape()).containsExactly(8, 32, 16);
            assertThat(f.info("layers.0.conv_state").intShape()).containsExactly(3, 288);
            assertThat(f.floats("layers.0.ssm_state")).containsExactly(l0.ssm());
            assertThat(f.floats("layers.3.conv_state")).containsExactly(((Mamba2LayerMemory) m.layer(3)).conv());
            assertThat(f.contains("layers.1.recurrent_state")).isTrue();
            assertThat(f.contains("layers.2.attn_keys")).isTrue();
        }
        double[] norms = MemoryInspection.layerNorms(m);
        double ss = 0;
        for (float v : l0.ssm()) {
            ss += (double) v * v;
        }
        assertThat(norms).hasSize(6);
        assertThat(norms[0]).isEqualTo(Math.sqrt(ss));
        assertThat(MemoryInspection.summary(m, layout, StorageDType.FP32)).contains("tokens=25");
    }
}
