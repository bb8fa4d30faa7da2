package dev.gdn.kernels.cuda;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.deltarule.DeltaRuleShape;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The CUDA one-token step against the double-precision reference, on the device. */
@Tag("gpu")
@Timeout(300)
class CudaRecurrentGatedDeltaRuleTest {

    /** Every test skips (and is counted as skipped) where CUDA is unavailable; the reason is printed once. */
    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    static void check(DeltaRuleShape shape, int streams) {
        try (CudaDevice d = new CudaDevice(0)) {
            CudaStepHarness h = new CudaStepHarness(shape, streams, 17);
            float[][] ref = h.reference();
            CudaRecurrentGatedDeltaRule rule = new CudaRecurrentGatedDeltaRule(d, shape);
            float[][] got = h.gpu(d, rule);
            assertClose(shape + " o", got[0], ref[0], 1e-5);
            assertClose(shape + " state pool", got[1], ref[1], 1e-5);
            float[][] decode = h.gpu(d, rule, true);
            assertClose(shape + " decode o", decode[0], ref[0], 1e-5);
            assertClose(shape + " decode state pool", decode[1], ref[1], 1e-5);
        }
    }

    /**
     * States held in bf16 in the pool: outputs as the reference's from the same (bf16) starting states,
     * computed in fp32 (1e-5), and final states the reference's up to their one rounding to bf16 (4e-3);
     * decode step and runs, one and two columns a thread (odd and even V), the chunkwise kernels too.
     */
    @Test
    void bf16StatesGiveTheReferenceOutputsAndItsStatesRoundedOnce() {
        try (CudaDevice d = new CudaDevice(0)) {
            for (DeltaRuleShape shape : new DeltaRuleShape[] {new DeltaRuleShape(16, 16, 128, 128),
                new DeltaRuleShape(6, 6, 256, 512), new DeltaRuleShape(2, 4, 64, 48), new DeltaRuleShape(1, 1, 100, 61)}) {
                CudaRecurrentGatedDeltaRule rule = new CudaRecurrentGatedDeltaRule(d, shape, StatePrecision.BF16);
                CudaStepHarness step = new CudaStepHarness(shape, 9, 23);
                step.roundPool();
                float[][] ref = step.reference();
                float[][] got = step.gpuBf16(d, rule, true);
                assertClose(shape + " bf16 decode o", got[0], ref[0], 1e-5);
                assertClose(shape + " bf16 decode states", got[1], ref[1], 4e-3);
                CudaStepHarness run = new CudaStepHarness(shape, new int[] {1, 5, 17, 40}, 29);
                run.roundPool();
                float[][] runRef = run.reference();
                float[][] runGot = run.gpuBf16(d, rule, false);
                assertClose(shape + " bf16 run o", runGot[0], runRef[0], 1e-5);
                assertClose(shape + " bf16 run states", runGot[1], runRef[1], 4e-3);
                for (ChunkPrecision p : ChunkPrecision.values()) {
                    if (!CudaChunkedGatedDeltaRule.supports(shape, p)) {
                        continue;
                    }
                    try (CudaChunkedGatedDeltaRule chunk = new CudaChunkedGatedDeltaRule(d, shape, p, StatePrecision.BF16)) {
                        float[][] c = run.gpuChunkedBf16(d, chunk);
                        double tol = p == ChunkPrecision.BF16 ? 1e-2 : 1e-4;
                        assertClose(shape + " bf16 states, chunk " + p.label() + " o", c[0], runRef[0], tol);
                        assertClose(shape + " bf16 states, chunk " + p.label() + " states", c[1], runRef[1],
                                Math.max(tol, 4e-3));
                    }
                }
            }
        }
    }

    @Test
    void awkwardShapesWithGroupedValueHeadsAndAPermutedPool() {
        check(new DeltaRuleShape(2, 4, 64, 48), 5);
        check(new DeltaRuleShape(1, 1, 100, 60), 3);
    }

    @Test
    void runsOfManyTokensPerStreamVarlenInOneLaunch() {
        DeltaRuleShape shape = new DeltaRuleShape(2, 4, 64, 48);
        try (CudaDevice d = new CudaDevice(0)) {
            CudaStepHarness h = new CudaStepHarness(shape, new int[] {1, 64, 0, 65, 7, 257}, 23);
            float[][] ref = h.reference();
            float[][] got = h.gpu(d, new CudaRecurrentGatedDeltaRule(d, shape));
            assertClose("varlen o", got[0], ref[0], 1e-5);
            assertClose("varlen state pool", got[1], ref[1], 1e-5);
        }
    }

    @Test
    void everyFlaOpFixtureThroughTheCudaForm() {
        try (CudaDevice d = new CudaDevice(0)) {
            dev.gdn.kernels.testing.Fixtures.opCases().forEach(file -> {
                var c = dev.gdn.kernels.parity.OpParity.read(file);
                float[][] out = c.run(new CudaRuleAdapter(d));
                assertClose(file.getFileName() + " o", out[0], c.oRef(), 1e-5);
                assertClose(file.getFileName() + " ht", out[1], c.htRef(), 1e-5);
            });
        }
    }

    @Test
    void flaBenchmarkShapes() {
        check(new DeltaRuleShape(16, 16, 128, 128), 8);
        check(new DeltaRuleShape(6, 6, 256, 512), 4);
    }

    @Test
    void aStreamsResultIsBitwiseTheSameAloneAndInABatch() {
        DeltaRuleShape shape = new DeltaRuleShape(4, 4, 128, 128);
        try (CudaDevice d = new CudaDevice(0)) {
            CudaRecurrentGatedDeltaRule step = new CudaRecurrentGatedDeltaRule(d, shape);
            for (int others : new int[] {1, 15, 63}) {
                // a batch: stream 0 among `others` other streams (their own inputs and slots)
                CudaStepHarness batch = new CudaStepHarness(shape, others + 1, 5 + others);
                float[][] all = batch.gpu(d, step);
                // stream 0 alone: its inputs and its slot's state, nothing else in the launch
                CudaStepHarness alone = new CudaStepHarness(shape, 1, 99);
                int qk = shape.heads() * shape.keyDim();
                System.arraycopy(batch.q, 0, alone.q, 0, qk);
                System.arraycopy(batch.k, 0, alone.k, 0, qk);
                System.arraycopy(batch.v, 0, alone.v, 0, shape.vRowSize());
                System.arraycopy(batch.g, 0, alone.g, 0, shape.valueHeads());
                System.arraycopy(batch.beta, 0, alone.beta, 0, shape.valueHeads());
                System.arraycopy(batch.pool, batch.slots[0] * shape.stateSize(), alone.pool,
                        alone.slots[0] * shape.stateSize(), shape.stateSize());
                float[][] one = alone.gpu(d, step);
                assertThat(java.util.Arrays.copyOf(one[0], shape.vRowSize()))
                        .as("stream 0's output alone and beside %d others", others)
                        .containsExactly(java.util.Arrays.copyOf(all[0], shape.vRowSize()));
                assertThat(java.util.Arrays.copyOfRange(one[1], alone.slots[0] * shape.stateSize(),
                        (alone.slots[0] + 1) * shape.stateSize()))
                        .as("stream 0's state alone and beside %d others", others)
                        .containsExactly(java.util.Arrays.copyOfRange(all[1], batch.slots[0] * shape.stateSize(),
                                (batch.slots[0] + 1) * shape.stateSize()));
            }
        }
    }
}
