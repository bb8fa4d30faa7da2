package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** Which GPU a TaskManager's operators run on: the option, the external resource, or GPU 0, said why. */
class GpuSelectionTest {
    /** What Flink's GPU plugin reports for one GPU: its {@code index}. */
    record Gpu(String index) implements ExternalResourceInfo {
        @Override
        public Optional<String> getProperty(String key) {
            return key.equals("index") ? Optional.of(index) : Optional.empty();
        }

        @Override
        public Collection<String> getKeys() {
            return List.of("index");
        }
    }

    @Test
    void theTaskManagersGpuFromTheExternalResourceFramework() {
        GpuSelection.Choice c = GpuSelection.choose(-1, List.of(new Gpu("3")));
        assertThat(c.device()).isEqualTo(3);
        assertThat(c.why()).contains("external resource").contains("GPU 3");
        assertThat(GpuSelection.choose(-1, List.of(new Gpu("5"), new Gpu("2"))).device()).isEqualTo(2);
    }

    @Test
    void theOptionWinsAndWithoutEitherGpuZeroSaysWhy() {
        assertThat(GpuSelection.choose(1, List.of(new Gpu("3"))).device()).isEqualTo(1);
        GpuSelection.Choice none = GpuSelection.choose(-1, List.of());
        assertThat(none.device()).isZero();
        assertThat(none.why()).contains("no GPU external resource").contains("gdn.cuda.device");
    }

    /** One GPU per TaskManager without Flink's GPU plugin: the TaskManager's own option, under the job's. */
    @Test
    void theTaskManagersOwnOptionComesAfterTheJobsAndBeforeTheExternalResource() {
        GpuSelection.Choice tm = GpuSelection.choose(-1, 1, List.of(new Gpu("3")));
        assertThat(tm.device()).isEqualTo(1);
        assertThat(tm.why()).isEqualTo("the TaskManager's gdn.cuda.device = 1");
        assertThat(GpuSelection.choose(2, 1, List.of(new Gpu("3"))).device()).isEqualTo(2);
        assertThat(GpuSelection.choose(-1, -1, List.of(new Gpu("3"))).device()).isEqualTo(3);
    }

    @Test
    void aNonNumericIndexOrANegativeOptionIsAnErrorNamingIt() {
        assertThatThrownBy(() -> GpuSelection.choose(-1, List.of(new Gpu("GPU-8f2a")))).hasMessageContaining("'GPU-8f2a'");
        Configuration c = Configuration.fromMap(Map.of("gdn.cuda.device", "-2"));
        assertThatThrownBy(() -> GdnOptions.validate(c)).hasMessageContaining("gdn.cuda.device = -2");
    }
}
