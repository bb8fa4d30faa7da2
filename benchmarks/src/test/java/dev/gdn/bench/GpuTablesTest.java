package dev.gdn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The GPU tables of {@code gdn bench}, by name. */
class GpuTablesTest {

    @Test
    void everyGpuTableIsNamed() {
        assertThat(new GpuTables().tables()).containsExactly("step", "model", "mamba2", "generation");
    }

    @Test
    void anUnknownTableIsNamed() {
        assertThatThrownBy(() -> new GpuTables().run("decode", null, 21))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'decode'").hasMessageContaining("mamba2");
    }
}
