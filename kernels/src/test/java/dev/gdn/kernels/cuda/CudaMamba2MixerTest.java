package dev.gdn.kernels.cuda;

import dev.gdn.kernels.layers.mamba2.CudaMamba2Mixer;
import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.layers.mamba2.Mamba2Config;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Mamba2 scan kernels on the device against the CPU's exact recurrence ({@code Mamba2Scan}): the
 * token-by-token kernel within 1e-5, the chunked one within 1e-4, over runs across chunk boundaries,
 * hard and gentle decays, non-zero starting states in a permuted pool; and a stream's result the same
 * bitwise alone and beside others.
 */
@Tag("gpu")
@Timeout(300)
class CudaMamba2MixerTest {
    private static final int[] LENGTHS = {1, 2, 5, 15, 16, 17, 31, 32, 33, 64, 65, 130, 200};

    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    private static Mamba2Config config(int heads, int p, int n, int groups) {
        return new Mamba2Config(Set.of(0), heads, p, n, groups, 4, true, 1e-5f);
    }

    /** H, P, N, G: h2-tiny's layer, a Mamba2-1.3B-sized head (chunks of 16), several groups, N not a multiple of 8. */
    @ParameterizedTest(name = "H={0} P={1} N={2} G={3}")
    @CsvSource({"8,32,16,1", "4,64,128,2", "6,16,8,3", "2,64,64,1", "3,16,12,1", "2,8,5,1"})
    void bothScanKernelsMatchTheCpuRecurrence(int heads, int p, int n, int groups) {
        Mamba2Config cfg = config(heads, p, n, groups);
        try (CudaDevice d = new CudaDevice(0)) {
            CudaMamba2Mixer.Kernels k = CudaMamba2Mixer.Kernels.compile(d, cfg);
            CudaMamba2Harness h = new CudaMamba2Harness(cfg, LENGTHS, 11);
            float[][] ref = h.reference();
            float[][] rec = h.gpu(d, k, 0);
            assertClose(cfg + " recurrence y", rec[0], ref[0], 1e-5);
            assertClose(cfg + " recurrence states", rec[1], ref[1], 1e-5);
            float[][] chunked = h.gpu(d, k, 1);
            assertClose(cfg + " chunked y (chunks of " + k.chunkTokens() + ")", chunked[0], ref[0], 1e-4);
            assertClose(cfg + " chunked states", chunked[1], ref[1], 1e-4);
            float[][] mixed = h.gpu(d, k, CudaForward.CHUNK_FROM);
            assertClose(cfg + " each stream by its run length y", mixed[0], ref[0], 1e-4);
            k.args().close();
        }
    }

    @Test
    void aStreamsScanIsBitwiseTheSameAloneAndBesideOthers() {
        Mamba2Config cfg = config(8, 32, 16, 1);
        try (CudaDevice d = new CudaDevice(0)) {
            CudaMamba2Mixer.Kernels k = CudaMamba2Mixer.Kernels.compile(d, cfg);
            for (int form : new int[] {0, 1}) {
                CudaMamba2Harness batch = new CudaMamba2Harness(cfg, new int[] {3, 70, 1, 40}, 5);
                float[][] together = batch.gpu(d, k, form);
                CudaMamba2Harness alone = batch.only(1);
                float[][] single = alone.gpu(d, k, form);
                int inner = cfg.innerDim();
                float[] mineY = java.util.Arrays.copyOfRange(together[0], batch.offsets[1] * inner,
                        batch.offsets[2] * inner);
                float[] mineS = java.util.Arrays.copyOfRange(together[1], cfg.stateFloats(), 2 * cfg.stateFloats());
                assertThat(single[0]).as("form %d y", form).containsExactly(mineY);
                assertThat(single[1]).as("form %d state", form).containsExactly(mineS);
            }
            k.args().close();
        }
    }
}
