package dev.gdn.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The determinism contract of {@link VectorMath}: tiling and grouping never change bits. */
class VectorMathProperties {

    @Test
    void simdIsUsedWhenTheModuleIsPresent() {
        boolean present = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        assertThat(VectorMath.best().name()).startsWith(present ? "simd-" : "scalar");
    }

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    @Property(tries = 200)
    void allFiniteFindsOneNonFiniteValueAnywhere(@ForAll @IntRange(min = 0, max = 300) int n,
            @ForAll @IntRange(min = 0, max = 299) int at, @ForAll @IntRange(min = 0, max = 3) int kind,
            @ForAll long seed) {
        float[] x = random(new Random(seed), n);
        for (int i = 0; i < n; i += 7) {
            x[i] = i % 2 == 0 ? Float.MAX_VALUE : -Float.MIN_VALUE; // finite extremes stay finite
        }
        float bad = new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.intBitsToFloat(0x7fc01234)}[kind];
        boolean planted = at < n;
        if (planted) {
            x[at] = bad;
        }
        for (VectorMath m : new VectorMath[] {VectorMath.best(), VectorMath.scalar()}) {
            assertThat(m.allFinite(x)).as(m.name() + ", " + n + " values, " + bad + " at " + at).isEqualTo(!planted);
        }
    }

    @Property(tries = 60)
    void everyMatmulElementIsTheDotOfItsRows(@ForAll @IntRange(min = 1, max = 9) int rows,
            @ForAll @IntRange(min = 1, max = 70) int in, @ForAll @IntRange(min = 1, max = 13) int out,
            @ForAll long seed) {
        Random r = new Random(seed);
        float[] x = random(r, rows * in);
        float[] w = random(r, out * in);
        for (VectorMath m : new VectorMath[] {VectorMath.best(), VectorMath.scalar()}) {
            float[] y = new float[rows * out];
            m.matmulTransposed(x, 0, rows, in, w, 0, out, y, 0, out);
            for (int i = 0; i < rows; i++) {
                for (int o = 0; o < out; o++) {
                    assertThat(y[i * out + o]).isEqualTo(m.dot(x, i * in, w, o * in, in));
                }
            }
            // one row alone gives the same bits as the row inside the batch
            float[] single = new float[out];
            m.matmulTransposed(x, (rows - 1) * in, 1, in, w, 0, out, single, 0, out);
            for (int o = 0; o < out; o++) {
                assertThat(single[o]).isEqualTo(y[(rows - 1) * out + o]);
            }
        }
    }

    @Property(tries = 60)
    void gemmElementsAreOneFmaChainWhateverTheTiling(@ForAll @IntRange(min = 1, max = 11) int m,
            @ForAll @IntRange(min = 1, max = 40) int n, @ForAll @IntRange(min = 1, max = 20) int k,
            @ForAll boolean accumulate, @ForAll long seed) {
        Random r = new Random(seed);
        float[] a = random(r, m * k);
        float[] b = random(r, k * n);
        float[] c0 = random(r, m * n);
        float[] c = c0.clone();
        VectorMath.best().gemm(m, n, k, a, 0, k, b, 0, n, c, 0, n, accumulate);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = accumulate ? c0[i * n + j] : 0f;
                for (int p = 0; p < k; p++) {
                    s = Math.fma(a[i * k + p], b[p * n + j], s);
                }
                assertThat(c[i * n + j]).as("c[%d,%d]", i, j).isEqualTo(s);
            }
        }
    }

    @Property(tries = 60)
    void aRowDecayRank1IsEachRowsDecayRank1BitForBit(@ForAll @IntRange(min = 1, max = 9) int rows,
            @ForAll @IntRange(min = 1, max = 70) int width, @ForAll long seed) {
        Random r = new Random(seed);
        int ld = width + 3;
        float[] s0 = random(r, rows * ld);
        float[] alphas = random(r, rows + 1);
        float[] x = random(r, rows + 2);
        float[] u = random(r, width);
        for (VectorMath m : new VectorMath[] {VectorMath.best(), VectorMath.scalar()}) {
            float[] together = s0.clone();
            float[] alone = s0.clone();
            m.rowDecayRank1(together, 0, ld, rows, width, alphas, 1, x, 2, u);
            for (int a = 0; a < rows; a++) {
                m.decayRank1(alone, a * ld, ld, 1, width, alphas[1 + a], x, 2 + a, u);
            }
            assertThat(together).as(m.toString()).containsExactly(alone);
        }
    }
}
