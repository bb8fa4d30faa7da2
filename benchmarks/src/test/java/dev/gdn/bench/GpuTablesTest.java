package dev.gdn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.cli.GpuBenchmarks;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** {@code gdn bench} finds its GPU tables on this module's classpath (the jar ./gdn bench runs from). */
class GpuTablesTest {

    @Test
    void theCliFindsEveryGpuTableOnTheBenchmarksClasspath() {
        GpuBenchmarks tables = ServiceLoader.load(GpuBenchmarks.class).findFirst().orElseThrow();
        assertThat(tables).isInstanceOf(GpuTables.class);
        assertThat(tables.tables()).containsExactly("step", "model", "mamba2", "generation");
    }

    @Test
    void anUnknownTableIsNamed() {
        assertThatThrownBy(() -> new GpuTables().run("decode", null, 21))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'decode'").hasMessageContaining("mamba2");
    }
}
