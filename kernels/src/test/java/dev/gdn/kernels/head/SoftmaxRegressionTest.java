package dev.gdn.kernels.head;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SoftmaxRegressionTest {
    private static final SoftmaxRegression.Settings PLAIN = SoftmaxRegression.Settings.defaults().withL2(0)
            .withBalanced(false);

    @Test
    void objectiveGradientMatchesCentralDifferences() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 300;
        int dim = 5;
        int classes = 3;
        float[] x = new float[n * dim];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(classes);
            for (int j = 0; j < dim; j++) {
                x[i * dim + j] = (float) (r.nextGaussian() * (j + 1) + y[i]);
            }
        }
        double[] mean = {0.3, -0.1, 0, 1, 2};
        double[] scale = {1, 2, 3, 0.5, 1.5};
        double[] weights = {1, 2.5, 0.7};
        var f = new SoftmaxRegression.Objective(x, n, dim, y, classes, mean, scale, weights, 0.01, true);
        double[] p = new double[classes * dim + classes];
        for (int i = 0; i < p.length; i++) {
            p[i] = r.nextGaussian() * 0.3;
        }
        double[] g = new double[p.length];
        f.evaluate(p, g);
        double h = 1e-6;
        double[] scratch = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            double keep = p[i];
            p[i] = keep + h;
            double up = f.evaluate(p, scratch);
            p[i] = keep - h;
            double down = f.evaluate(p, scratch);
            p[i] = keep;
            assertThat(g[i]).as("d/dp[%d]", i).isCloseTo((up - down) / (2 * h), within(1e-7));
        }
    }

    @Test
    void unpenalizedFitRecoversTheConditionalClassFrequencies() {
        // x = +1: class 1 three times in four; x = -1: once in four. The maximum-likelihood logistic model
        // gives p(1 | x) = 3/4 and 1/4 exactly: logit difference ln 3 * x, no offset
        int n = 400;
        float[] x = new float[n];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            x[i] = i < n / 2 ? 1 : -1;
            int k = i % 4;
            y[i] = i < n / 2 ? (k < 3 ? 1 : 0) : (k < 1 ? 1 : 0);
        }
        SoftmaxRegression.Head head = SoftmaxRegression.fit(x, 1, y, 2, PLAIN);
        assertThat(head.converged()).isTrue();
        assertThat(probability(head, 1f, 1)).isCloseTo(0.75, within(1e-5));
        assertThat(probability(head, -1f, 1)).isCloseTo(0.25, within(1e-5));
        float[] l = head.logits(new float[] {1}, 0);
        assertThat((double) l[1] - l[0]).isCloseTo(Math.log(3), within(1e-4));
    }

    @Test
    void balancedWeightsGiveARareClassTheSameTotalWeight() {
        // an uninformative (constant) feature, 90 rows of class 0 and 10 of class 1: only the bias learns;
        // unweighted it gives the frequencies, balanced it gives each class the same weight: 1/2 each
        int n = 100;
        float[] x = new float[n];
        int[] y = new int[n];
        for (int i = 90; i < n; i++) {
            y[i] = 1;
        }
        assertThat(probability(SoftmaxRegression.fit(x, 1, y, 2, PLAIN), 0f, 1)).isCloseTo(0.1, within(1e-6));
        assertThat(probability(SoftmaxRegression.fit(x, 1, y, 2, PLAIN.withBalanced(true)), 0f, 1))
                .isCloseTo(0.5, within(1e-6));
    }

    @Test
    void separatesThreeGaussianClassesOnFreshSamples() {
        int dim = 16;
        float[][] centers = new float[3][dim];
        SplittableRandom r = new SplittableRandom(11);
        for (float[] c : centers) {
            for (int j = 0; j < dim; j++) {
                c[j] = (float) (r.nextGaussian() * 2);
            }
        }
        Sample train = sample(centers, 3000, r);
        Sample test = sample(centers, 3000, r);
        SoftmaxRegression.Head head = SoftmaxRegression.fit(train.x, dim, train.y, 3, SoftmaxRegression.Settings.defaults());
        int correct = 0;
        for (int i = 0; i < test.y.length; i++) {
            correct += head.predict(test.x, i * dim) == test.y[i] ? 1 : 0;
        }
        assertThat(correct / (double) test.y.length).isGreaterThan(0.99);
        // deterministic: the same data gives the same bytes
        SoftmaxRegression.Head again = SoftmaxRegression.fit(train.x, dim, train.y, 3, SoftmaxRegression.Settings.defaults());
        assertThat(again.weight()).containsExactly(head.weight());
        assertThat(again.bias()).containsExactly(head.bias());
    }

    @Test
    void badInputIsRefusedNamingWhatWasFound() {
        float[] x = {0, 1, 2, 3};
        assertThatThrownBy(() -> SoftmaxRegression.fit(x, 1, new int[] {0, 0, 0, 0}, 1, PLAIN))
                .hasMessage("a classifier needs at least 2 classes, got 1");
        assertThatThrownBy(() -> SoftmaxRegression.fit(x, 1, new int[] {0, 0, 0, 0}, 2, PLAIN))
                .hasMessage("class 1 has no rows");
        assertThatThrownBy(() -> SoftmaxRegression.fit(x, 1, new int[] {0, 1, 2, 0}, 2, PLAIN))
                .hasMessage("label of row 2 is 2, outside [0, 2)");
        assertThatThrownBy(() -> SoftmaxRegression.fit(new float[] {0, Float.NaN, 1, 2}, 2, new int[] {0, 1}, 2, PLAIN))
                .hasMessage("feature 1 of row 0 is NaN");
        assertThatThrownBy(() -> SoftmaxRegression.fit(x, 3, new int[] {0, 1}, 2, PLAIN))
                .hasMessage("x has 4 values for 2 rows of 3");
        assertThatThrownBy(() -> PLAIN.withL2(-1)).hasMessage("l2 must be a finite number >= 0, got -1.0");
    }

    private record Sample(float[] x, int[] y) {
    }

    private static Sample sample(float[][] centers, int n, SplittableRandom r) {
        int dim = centers[0].length;
        float[] x = new float[n * dim];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(centers.length);
            for (int j = 0; j < dim; j++) {
                x[i * dim + j] = (float) (centers[y[i]][j] + r.nextGaussian());
            }
        }
        return new Sample(x, y);
    }

    private static double probability(SoftmaxRegression.Head head, float x, int c) {
        float[] l = head.logits(new float[] {x}, 0);
        double max = Arrays.stream(new double[] {l[0], l[1]}).max().orElseThrow();
        return Math.exp(l[c] - max) / (Math.exp(l[0] - max) + Math.exp(l[1] - max));
    }
}
