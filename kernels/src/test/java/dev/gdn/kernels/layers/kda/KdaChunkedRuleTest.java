package dev.gdn.kernels.layers.kda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.parity.RelativeError;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The chunkwise Kimi delta rule on the CPU agrees with the fp64 oracle within the chunkwise tolerance (1e-4)
 * in each of its three forms: decays that stay within fp32's range over a chunk (A and P as fp32 products),
 * decays that reach beyond it (formed in double), and a hard forget beyond double's (the chunk token by
 * token); on grouped value heads, widths that are no power of two, runs that end mid-chunk, and from a
 * state carried in.
 */
class KdaChunkedRuleTest {

    /** {@link KdaRuleTest#inputs}, every log-decay multiplied by {@code decayScale}, token {@code forget}'s set to -1000. */
    static KdaInputs inputs(DeltaRuleShape s, int tokens, double decayScale, int forget, long seed) {
        KdaInputs in = KdaRuleTest.inputs(s, tokens, seed);
        float[] g = in.g().clone();
        for (int i = 0; i < g.length; i++) {
            g[i] *= (float) decayScale;
        }
        if (forget >= 0) {
            for (int j = 0; j < s.valueHeads(); j++) {
                g[in.decayOffset(forget, j) + 1] = -1000f;
            }
        }
        return new KdaInputs(s, 0, tokens, in.q(), in.k(), in.v(), g, in.beta(), in.scale());
    }

    @ParameterizedTest(name = "{0} x {1} heads, K {2}, V {3}, {4} tokens, decays x{5}, forget at {6}: first chunk {7}")
    @CsvSource({
        "2, 4, 32, 64, 200, 1, -1, FP32",
        "1, 1, 100, 60, 130, 1, -1, FP32",
        "2, 2, 64, 64, 64, 1, -1, FP32",
        "2, 4, 32, 64, 150, 12, -1, FP64",
        "1, 2, 64, 48, 100, 1, 10, TOKENS"})
    void eachFormAgreesWithTheOracleWithin1e4(int h, int hv, int kd, int vd, int tokens, double decayScale, int forget,
            KdaChunkedRule.Form first) {
        DeltaRuleShape s = new DeltaRuleShape(h, hv, kd, vd);
        KdaInputs in = inputs(s, tokens, decayScale, forget, 7);
        assertThat(KdaChunkedRule.formOf(in, 0, 0, Math.min(KdaChunkedRule.CHUNK, tokens))).isEqualTo(first);
        for (VectorMath math : new VectorMath[] {VectorMath.best(), VectorMath.scalar()}) {
            float[] state = KdaRuleTest.initialState(s, 8);
            float[] stateRef = state.clone();
            float[] out = new float[tokens * s.vRowSize()];
            float[] outRef = new float[out.length];
            KdaChunkedRule rule = new KdaChunkedRule(math);
            for (int j = 0; j < hv; j++) {
                rule.forwardHead(in, j, state, j * s.headStateSize(), out);
                KdaRule.reference(in, j, stateRef, j * s.headStateSize(), outRef);
            }
            double eo = RelativeError.of(out, outRef).value();
            double es = RelativeError.of(state, stateRef).value();
            System.out.printf("kda chunked %s (%s): o %.2e, state %.2e%n", first, math, eo, es);
            assertThat(eo).as("o, " + math).isLessThan(1e-4);
            assertThat(es).as("final state, " + math).isLessThan(1e-4);
        }
    }
}
