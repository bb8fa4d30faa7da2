package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.kernels.cuda.ChunkPrecision;
import dev.gdn.kernels.cuda.MatmulPrecision;
import dev.gdn.kernels.cuda.StatePrecision;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** One engine specification from the job's options, typed, and one model per path and specification. */
class EngineSpecTest {
    @Test
    void theOptionsBecomeOneTypedSpecification() {
        Configuration c = new Configuration();
        c.set(GdnOptions.BACKEND, "CUDA ");
        c.set(GdnOptions.CPU_THREADS, 3);
        c.set(GdnOptions.MATMUL_PRECISION, "bf16-weights");
        c.set(GdnOptions.CHUNK_PRECISION, "3xtf32");
        c.set(GdnOptions.STATE_PRECISION, "bf16");
        assertThat(EngineSpec.of(c, 1)).isEqualTo(new EngineSpec(EngineSpec.Backend.CUDA, 3, MatmulPrecision.BF16_WEIGHTS,
                ChunkPrecision.TF32X3, StatePrecision.BF16, 1));
        assertThat(EngineSpec.of(new Configuration(), 0)).isEqualTo(new EngineSpec(EngineSpec.Backend.AUTO,
                GdnOptions.CPU_THREADS.defaultValue(), MatmulPrecision.FP32, ChunkPrecision.FP32, StatePrecision.FP32, 0));
        assertThatThrownBy(() -> EngineSpec.Backend.parse("gpu")).hasMessage("backend 'gpu' is not one of auto, cpu, cuda");
    }

    @Test
    void everyCoreAndItsNumberAreOneSpecificationAndOneModel() {
        String path = GdnInferenceOperatorTest.MODEL.toString();
        int cores = Runtime.getRuntime().availableProcessors();
        assertThat(ModelCache.get(path, EngineSpec.cpu(0))).isSameAs(ModelCache.get(path, EngineSpec.cpu(cores)));
        assertThat(ModelCache.get(path, 2)).isSameAs(ModelCache.get(path, EngineSpec.cpu(2)));
    }
}
