package dev.gdn.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.ops.Activations;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The fast SiLU of {@link VectorMath#best()} against the reference ({@link Activations#silu}, in double):
 * close to it everywhere, and the same bits for a value wherever it sits in an array (vector body or
 * scalar tail), so that a result never depends on a row's place in a batch.
 */
class SiluTest {

    /** Relative error against the reference; absolute below 1e-30 (where silu underflows). */
    private static double error(float fast, float x) {
        double ref = x / (1.0 + Math.exp(-(double) x));
        return Math.abs(fast - ref) / Math.max(1e-30, Math.abs(ref));
    }

    @Test
    void fastSiluIsWithinThreeFloatRoundingsOfTheReferenceOverItsRange() {
        VectorMath m = VectorMath.best();
        int n = 200_001;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = -60f + 120f * i / (n - 1);
        }
        float[] y = x.clone();
        m.silu(y, 0, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            // far below zero silu is about x e^x: relative error is what counts while it is a normal float
            if (Math.abs(y[i]) > 1e-30) {
                worst = Math.max(worst, error(y[i], x[i]));
            }
        }
        assertThat(worst).isLessThan(3.6e-7);
        float[] ref = x.clone();
        VectorMath.scalar().silu(ref, 0, n);
        for (int i = 0; i < n; i += 997) {
            assertThat(ref[i]).isEqualTo(Activations.silu(x[i]));
        }
    }

    @Test
    void fastSiluKeepsNonFiniteInputsNonFiniteAndSaturates() {
        VectorMath m = VectorMath.best();
        float[] x = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e30f, -1e30f, 0f, 100f, -100f};
        float[] y = x.clone();
        m.silu(y, 0, y.length);
        assertThat(y[0]).isNaN();
        assertThat(Float.isFinite(y[1])).isFalse();
        assertThat(Float.isFinite(y[2])).isFalse();
        assertThat(y[3]).isEqualTo(1e30f);
        assertThat(Math.abs(y[4])).isLessThan(1e-6f);
        assertThat(y[5]).isEqualTo(0f);
        assertThat(y[6]).isEqualTo(100f);
        assertThat(Math.abs(y[7])).isLessThan(1e-30f);
    }

    @Property(tries = 80)
    void aValueGivesTheSameBitsWhereverItSits(@ForAll @IntRange(min = 1, max = 45) int n,
            @ForAll @IntRange(min = 0, max = 9) int offset, @ForAll long seed) {
        Random r = new Random(seed);
        float[] x = new float[offset + n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 6);
        }
        VectorMath m = VectorMath.best();
        float[] whole = x.clone();
        m.silu(whole, offset, n);
        for (int i = 0; i < n; i++) {
            float[] one = {x[offset + i]};
            m.silu(one, 0, 1);
            assertThat(whole[offset + i]).isEqualTo(one[0]);
        }
        // the gate: x * silu(g), element by element the same
        float[] g = x.clone();
        float[] v = new float[x.length];
        java.util.Arrays.fill(v, 1.5f);
        m.mulSilu(v, offset, g, offset, n);
        for (int i = 0; i < n; i++) {
            assertThat(v[offset + i]).isEqualTo(1.5f * whole[offset + i]);
        }
    }
}
