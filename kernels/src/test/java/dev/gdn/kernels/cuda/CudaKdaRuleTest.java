package dev.gdn.kernels.cuda;

import static dev.gdn.kernels.testing.Close.assertClose;

import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.layers.kda.KdaInputs;
import dev.gdn.kernels.layers.kda.KdaRule;
import dev.gdn.kernels.layers.kda.KdaRuleTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The recurrent kernel compiled with a decay per key channel (KDA's rule) against the fp64 oracle
 * ({@link KdaRule#reference}) on the device, within the fp32 recurrent tolerance (1e-5): runs of mixed lengths
 * and the decode step, grouped value heads, widths that are no power of two, a permuted pool.
 */
@Tag("gpu")
@Timeout(300)
class CudaKdaRuleTest {

    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    @Test
    void thePerChannelDecayKernelAgreesWithTheOracleWithin1e5() {
        try (CudaDevice d = new CudaDevice(0)) {
            for (DeltaRuleShape shape : new DeltaRuleShape[] {new DeltaRuleShape(2, 4, 64, 48),
                new DeltaRuleShape(1, 1, 100, 60), new DeltaRuleShape(4, 4, 128, 128)}) {
                CudaRecurrentGatedDeltaRule rule = new CudaRecurrentGatedDeltaRule(d, shape, StatePrecision.FP32, true);
                check(d, rule, shape, new int[] {1, 5, 17, 40}, false);
                check(d, rule, shape, new int[] {1, 1, 1, 1, 1}, true);
            }
        }
    }

    private static void check(CudaDevice d, CudaRecurrentGatedDeltaRule rule, DeltaRuleShape s, int[] lengths,
            boolean decode) {
        int n = lengths.length;
        int[] offsets = new int[n + 1];
        for (int i = 0; i < n; i++) {
            offsets[i + 1] = offsets[i] + lengths[i];
        }
        int rows = offsets[n];
        KdaInputs all = KdaRuleTest.inputs(s, rows, 31);
        // stream i in slot slots[i] of a pool of n + 2 slots
        int[] slots = new int[n];
        for (int i = 0; i < n; i++) {
            slots[i] = (3 * i + 1) % (n + 2);
        }
        float[] pool = new float[(n + 2) * s.stateSize()];
        for (int i = 0; i < n + 2; i++) {
            System.arraycopy(KdaRuleTest.initialState(s, 40 + i), 0, pool, i * s.stateSize(), s.stateSize());
        }
        float[] refPool = pool.clone();
        float[] refOut = new float[rows * s.vRowSize()];
        for (int i = 0; i < n; i++) {
            KdaInputs in = new KdaInputs(s, offsets[i], lengths[i], all.q(), all.k(), all.v(), all.g(), all.beta(),
                    all.scale());
            for (int j = 0; j < s.valueHeads(); j++) {
                KdaRule.reference(in, j, refPool, slots[i] * s.stateSize() + j * s.headStateSize(), refOut);
            }
        }
        long[] a = {d.floats(all.q()), d.floats(all.k()), d.floats(all.v()), d.floats(all.g()), d.floats(all.beta()),
            d.allocate(4L * (n + 1)), d.allocate(4L * n), d.floats(pool), d.allocate(4L * refOut.length)};
        d.upload(a[5], offsets);
        d.upload(a[6], slots);
        DeltaRuleArrays arrays = new DeltaRuleArrays(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
        if (decode) {
            rule.step(arrays, n, all.scale());
        } else {
            rule.run(arrays, n, all.scale());
        }
        d.synchronize();
        float[] out = new float[refOut.length];
        float[] got = new float[pool.length];
        d.download(out, a[8]);
        d.download(got, a[7]);
        for (long x : a) {
            d.free(x);
        }
        String what = s + (decode ? " decode step" : " runs " + java.util.Arrays.toString(lengths));
        assertClose(what + " o", out, refOut, 1e-5);
        assertClose(what + " state pool", got, refPool, 1e-5);
    }
}
