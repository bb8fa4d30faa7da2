package dev.gdn.kernels.layers.kda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.cpu.VectorMath;
import dev.gdn.kernels.deltarule.DeltaRuleInputs;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.deltarule.RecurrentGatedDeltaRule;
import dev.gdn.kernels.parity.RelativeError;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Kimi delta rule on the CPU: its fp64 oracle is the gated delta rule's when every key channel
 * decays alike, and its fp32 form agrees with the oracle (within the fp32 recurrent tolerance, 1e-5) on
 * shapes with grouped value heads, widths that are no power of two and hard forgets on single channels,
 * and gives the same bits for a run in pieces as in one piece.
 */
public class KdaRuleTest {

    /** Random inputs: L2-normalised q, k; log-decays per channel in (-inf, 0) with ~1% hard forgets (-8). */
    public static KdaInputs inputs(DeltaRuleShape s, int tokens, long seed) {
        Random r = new Random(seed);
        float[] q = unitRows(r, tokens * s.heads(), s.keyDim());
        float[] k = unitRows(r, tokens * s.heads(), s.keyDim());
        float[] v = new float[tokens * s.vRowSize()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        float[] g = new float[tokens * s.valueHeads() * s.keyDim()];
        for (int i = 0; i < g.length; i++) {
            double x = 2 + 2 * r.nextGaussian();
            g[i] = r.nextInt(100) == 0 ? -8f : (float) -Math.log1p(Math.exp(-x));
        }
        float[] beta = new float[tokens * s.valueHeads()];
        for (int i = 0; i < beta.length; i++) {
            beta[i] = (float) (1 / (1 + Math.exp(-r.nextGaussian())));
        }
        return new KdaInputs(s, 0, tokens, q, k, v, g, beta, (float) Math.pow(s.keyDim(), -0.5));
    }

    private static float[] unitRows(Random r, int rows, int width) {
        float[] a = new float[rows * width];
        for (int i = 0; i < rows; i++) {
            double n = 0;
            for (int c = 0; c < width; c++) {
                a[i * width + c] = (float) r.nextGaussian();
                n += a[i * width + c] * a[i * width + c];
            }
            for (int c = 0; c < width; c++) {
                a[i * width + c] /= (float) Math.sqrt(n + 1e-6);
            }
        }
        return a;
    }

    public static float[] initialState(DeltaRuleShape s, long seed) {
        Random r = new Random(seed);
        float[] h = new float[s.stateSize()];
        for (int i = 0; i < h.length; i++) {
            h[i] = (float) (0.1 * r.nextGaussian());
        }
        return h;
    }

    @ParameterizedTest
    @CsvSource({"2,2,64,64,63", "2,4,32,64,100", "1,1,100,60,257"})
    void withOneDecayForEveryChannelTheOracleIsTheGatedDeltaRules(int h, int hv, int kd, int vd, int tokens) {
        DeltaRuleShape s = new DeltaRuleShape(h, hv, kd, vd);
        KdaInputs in = inputs(s, tokens, 1);
        float[] gHead = new float[tokens * hv];
        float[] g = in.g().clone();
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < hv; j++) {
                gHead[t * hv + j] = in.g()[in.decayOffset(t, j)];
                java.util.Arrays.fill(g, in.decayOffset(t, j), in.decayOffset(t, j) + kd, gHead[t * hv + j]);
            }
        }
        KdaInputs uniform = new KdaInputs(s, 0, tokens, in.q(), in.k(), in.v(), g, in.beta(), in.scale());
        DeltaRuleInputs gdn = new DeltaRuleInputs(s, 0, tokens, in.q(), in.k(), in.v(), gHead, in.beta(), in.scale());
        float[] state = initialState(s, 2);
        float[] stateGdn = state.clone();
        float[] out = new float[tokens * s.vRowSize()];
        float[] outGdn = new float[out.length];
        for (int j = 0; j < hv; j++) {
            KdaRule.reference(uniform, j, state, j * s.headStateSize(), out);
        }
        new RecurrentGatedDeltaRule().forward(gdn, stateGdn, 0, outGdn);
        assertThat(RelativeError.of(out, outGdn).value()).isLessThan(1e-6);
        assertThat(RelativeError.of(state, stateGdn).value()).isLessThan(1e-6);
    }

    @ParameterizedTest
    @CsvSource({"2,2,64,64,63", "3,3,64,64,1", "2,4,32,64,100", "1,1,100,60,257", "4,4,128,128,40"})
    void theFp32FormAgreesWithTheOracleWithin1e5(int h, int hv, int kd, int vd, int tokens) {
        DeltaRuleShape s = new DeltaRuleShape(h, hv, kd, vd);
        KdaInputs in = inputs(s, tokens, 3);
        for (VectorMath math : new VectorMath[] {VectorMath.best(), VectorMath.scalar()}) {
            float[] state = initialState(s, 4);
            float[] stateRef = state.clone();
            float[] out = new float[tokens * s.vRowSize()];
            float[] outRef = new float[out.length];
            new KdaRule(math).forward(in, state, 0, out);
            for (int j = 0; j < hv; j++) {
                KdaRule.reference(in, j, stateRef, j * s.headStateSize(), outRef);
            }
            assertThat(RelativeError.of(out, outRef).value()).as("o, " + math).isLessThan(1e-5);
            assertThat(RelativeError.of(state, stateRef).value()).as("final state, " + math).isLessThan(1e-5);
        }
    }

    @ParameterizedTest
    @CsvSource({"2,4,32,64", "1,1,100,60"})
    void aRunInPiecesGivesTheBitsOfOneRun(int h, int hv, int kd, int vd) {
        DeltaRuleShape s = new DeltaRuleShape(h, hv, kd, vd);
        int tokens = 50;
        KdaInputs in = inputs(s, tokens, 5);
        KdaRule rule = new KdaRule(VectorMath.best());
        float[] whole = initialState(s, 6);
        float[] pieces = whole.clone();
        float[] outWhole = new float[tokens * s.vRowSize()];
        float[] outPieces = new float[outWhole.length];
        rule.forward(in, whole, 0, outWhole);
        int from = 0;
        for (int n : new int[] {17, 1, 32}) {
            rule.forward(new KdaInputs(s, from, n, in.q(), in.k(), in.v(), in.g(), in.beta(), in.scale()), pieces, 0,
                    outPieces);
            from += n;
        }
        assertThat(outPieces).containsExactly(outWhole);
        assertThat(pieces).containsExactly(whole);
    }
}
