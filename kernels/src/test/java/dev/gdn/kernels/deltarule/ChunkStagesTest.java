package dev.gdn.kernels.deltarule;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The GPU chunk kernel's stages on the CPU ({@link ChunkStages}: preparation, then recurrence) give the
 * oracle's outputs and states on the awkward shapes of {@link DeltaRuleFormsTest}, and the state after
 * each chunk is the oracle's after that prefix of tokens: the counterpart the GPU's intermediates are
 * held to is itself exact.
 */
class ChunkStagesTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.gdn.kernels.deltarule.DeltaRuleFormsTest#cases")
    void preparationThenRecurrenceGiveTheOraclesOutputsAndStates(DeltaRuleFormsTest.Case c) {
        DeltaRuleInputs base = DeltaRuleFormsTest.inputs(c, 21);
        float[][] ref = DeltaRuleFormsTest.run(c, base, new RecurrentGatedDeltaRule(), 22);
        DeltaRuleShape s = base.shape();
        float[] state = c.h0() ? DeltaRuleFormsTest.random(new Random(22), c.b() * s.stateSize(), 0.5f)
                : new float[c.b() * s.stateSize()];
        float[] o = new float[c.b() * c.t() * s.vRowSize()];
        for (int b = 0; b < c.b(); b++) {
            DeltaRuleInputs in = sequence(c, base, b, c.t());
            for (int j = 0; j < s.valueHeads(); j++) {
                int so = b * s.stateSize() + j * s.headStateSize();
                double[] st = new double[s.headStateSize()];
                for (int i = 0; i < st.length; i++) {
                    st[i] = state[so + i];
                }
                double[] out = new double[c.t() * s.valueDim()];
                ChunkStages.recur(ChunkStages.prepare(in, j), st, out);
                for (int i = 0; i < st.length; i++) {
                    state[so + i] = (float) st[i];
                }
                for (int t = 0; t < c.t(); t++) {
                    for (int x = 0; x < s.valueDim(); x++) {
                        o[in.vOffset(t, j) + x] = (float) out[t * s.valueDim() + x];
                    }
                }
            }
        }
        assertClose(c + " o", o, ref[0], 1e-6);
        assertClose(c + " state", state, ref[1], 1e-6);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.gdn.kernels.deltarule.DeltaRuleFormsTest#cases")
    void theStateAfterEachChunkIsTheOraclesAfterThatPrefix(DeltaRuleFormsTest.Case c) {
        DeltaRuleInputs base = DeltaRuleFormsTest.inputs(c, 31);
        DeltaRuleShape s = base.shape();
        DeltaRuleInputs in = sequence(c, base, 0, c.t());
        int j = s.valueHeads() - 1;
        List<double[]> states = ChunkStages.recur(ChunkStages.prepare(in, j), new double[s.headStateSize()],
                new double[c.t() * s.valueDim()]);
        int chunks = (c.t() + ChunkedGatedDeltaRule.CHUNK - 1) / ChunkedGatedDeltaRule.CHUNK;
        assertThat(states).hasSize(chunks);
        for (int x = 0; x < chunks; x++) {
            int prefix = Math.min(c.t(), (x + 1) * ChunkedGatedDeltaRule.CHUNK);
            float[] oracle = new float[s.stateSize()];
            new RecurrentGatedDeltaRule().forwardHead(sequence(c, base, 0, prefix), j, oracle, j * s.headStateSize(),
                    new float[prefix * s.vRowSize()]);
            float[] got = new float[s.headStateSize()];
            for (int i = 0; i < got.length; i++) {
                got[i] = (float) states.get(x)[i];
            }
            assertClose(c + " state after chunk " + x, got,
                    java.util.Arrays.copyOfRange(oracle, j * s.headStateSize(), (j + 1) * s.headStateSize()), 1e-6);
        }
    }

    private static DeltaRuleInputs sequence(DeltaRuleFormsTest.Case c, DeltaRuleInputs base, int b, int tokens) {
        return new DeltaRuleInputs(base.shape(), b * c.t(), tokens, base.q(), base.k(), base.v(), base.g(),
                base.beta(), base.scale());
    }
}
