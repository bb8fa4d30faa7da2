package dev.gdn.kernels.deltarule;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.cpu.VectorMath;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fast forms against the oracle on awkward shapes: T = 1, 63, 64, 65, 257; K = 60, 100; grouped
 * value heads; hard forgets (g down to -20); beta up to 2; with and without an initial state.
 */
@Timeout(120)
class DeltaRuleFormsTest {

    record Case(String name, int b, int t, int h, int hv, int k, int v, boolean h0, boolean negEig) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case("B2-T1-H2-K64-V64", 2, 1, 2, 2, 64, 64, true, false),
                new Case("B1-T63-H4-K60-V40", 1, 63, 4, 4, 60, 40, true, false),
                new Case("B2-T64-H1-HV2-K32-V48", 2, 64, 1, 2, 32, 48, false, true),
                new Case("B1-T65-H2-HV4-K100-V60", 1, 65, 2, 4, 100, 60, true, true),
                new Case("B1-T257-H1-K128-V128", 1, 257, 1, 1, 128, 128, true, false),
                new Case("B3-T5-H2-K16-V8", 3, 5, 2, 2, 16, 8, false, false))
                .map(Arguments::of);
    }

    static float[] random(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian() * scale;
        }
        return a;
    }

    static DeltaRuleInputs inputs(Case c, long seed) {
        Random r = new Random(seed);
        DeltaRuleShape s = new DeltaRuleShape(c.h, c.hv, c.k, c.v);
        int rows = c.b * c.t;
        float[] q = random(r, rows * s.qkRowSize(), 1f);
        float[] k = random(r, rows * s.qkRowSize(), 1f);
        for (int i = 0; i < rows * c.h; i++) {
            normalize(q, i * c.k, c.k);
            normalize(k, i * c.k, c.k);
        }
        float[] v = random(r, rows * s.vRowSize(), 1f);
        float[] g = new float[rows * c.hv];
        float[] beta = new float[rows * c.hv];
        for (int i = 0; i < g.length; i++) {
            g[i] = r.nextInt(10) == 0 ? -20f * r.nextFloat() : -0.1f * r.nextFloat();
            beta[i] = (c.negEig ? 2f : 1f) * r.nextFloat();
        }
        return new DeltaRuleInputs(s, 0, c.t, q, k, v, g, beta, (float) (1 / Math.sqrt(c.k)));
    }

    static void normalize(float[] x, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += x[off + i] * x[off + i];
        }
        for (int i = 0; i < n; i++) {
            x[off + i] /= (float) Math.sqrt(s);
        }
    }

    /** Runs every sequence of the case; returns {o, final state}. */
    static float[][] run(Case c, DeltaRuleInputs base, GatedDeltaRule rule, long stateSeed) {
        DeltaRuleShape s = base.shape();
        float[] state = c.h0 ? random(new Random(stateSeed), c.b * s.stateSize(), 0.5f) : new float[c.b * s.stateSize()];
        float[] o = new float[c.b * c.t * s.vRowSize()];
        for (int b = 0; b < c.b; b++) {
            DeltaRuleInputs in = new DeltaRuleInputs(s, b * c.t, c.t, base.q(), base.k(), base.v(), base.g(),
                    base.beta(), base.scale());
            rule.forward(in, state, b * s.stateSize(), o);
        }
        return new float[][] {o, state};
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void fusedRecurrentMatchesOracle(Case c) {
        DeltaRuleInputs in = inputs(c, 7);
        float[][] ref = run(c, in, new RecurrentGatedDeltaRule(), 8);
        for (VectorMath m : new VectorMath[] {VectorMath.best(), VectorMath.scalar()}) {
            float[][] got = run(c, in, new FusedRecurrentGatedDeltaRule(m), 8);
            assertClose(c + " " + m.name() + " o", got[0], ref[0], 1e-5);
            assertClose(c + " " + m.name() + " state", got[1], ref[1], 1e-5);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void chunkwiseMatchesOracle(Case c) {
        DeltaRuleInputs in = inputs(c, 11);
        float[][] ref = run(c, in, new RecurrentGatedDeltaRule(), 12);
        for (VectorMath m : new VectorMath[] {VectorMath.best(), VectorMath.scalar()}) {
            float[][] got = run(c, in, new ChunkedGatedDeltaRule(m), 12);
            assertClose(c + " " + m.name() + " o", got[0], ref[0], 1e-4);
            assertClose(c + " " + m.name() + " state", got[1], ref[1], 1e-4);
        }
    }

    @Test
    void chunkwiseIsAlsoCloseAtOracleToleranceOnLongRuns() {
        // our chunkwise form is plain fp32 (no TF32), so it stays well inside the recurrent tolerance
        Case c = new Case("B1-T257-H1-K128-V128", 1, 257, 1, 1, 128, 128, true, false);
        DeltaRuleInputs in = inputs(c, 3);
        float[][] ref = run(c, in, new RecurrentGatedDeltaRule(), 4);
        float[][] got = run(c, in, new ChunkedGatedDeltaRule(VectorMath.best()), 4);
        assertClose("o", got[0], ref[0], 1e-5);
    }

    @Test
    void zeroTokensLeaveTheStateAlone() {
        DeltaRuleShape s = new DeltaRuleShape(1, 1, 8, 8);
        float[] state = random(new Random(1), s.stateSize(), 1f);
        float[] before = state.clone();
        DeltaRuleInputs in = new DeltaRuleInputs(s, 0, 0, new float[0], new float[0], new float[0], new float[0],
                new float[0], 1f);
        new FusedRecurrentGatedDeltaRule(VectorMath.best()).forward(in, state, 0, new float[0]);
        new ChunkedGatedDeltaRule(VectorMath.best()).forward(in, state, 0, new float[0]);
        assertThat(state).containsExactly(before);
    }
}
