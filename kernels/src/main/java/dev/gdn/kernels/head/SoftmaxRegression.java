package dev.gdn.kernels.head;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Multinomial logistic regression (a softmax classifier) fitted on rows of features: the classification
 * head of a stream model, fitted on the final normed hidden states that its memory gives after labeled
 * events.
 *
 * <p>Minimizes the class-weighted mean cross-entropy plus {@code l2 / 2 * ||W||^2} over the weights
 * {@code W [C, D]} (the bias {@code b [C]} is not penalized), with L-BFGS ({@link Lbfgs}). The features
 * are standardized for the fit (each column to mean 0, variance 1, so that the penalty and the optimizer's
 * steps treat every column alike) and the result folded back: the returned head applies to raw features,
 * {@code logits = W x + b}. Balanced class weights give each class the same total weight, {@code n / (C
 * n_c)} per row, as for rare fraud or fault classes. The objective is convex, so the fit is deterministic
 * and does not depend on a seed.
 */
public final class SoftmaxRegression {
    private SoftmaxRegression() {
    }

    /**
     * How to fit.
     *
     * @param l2            the L2 penalty on standardized weights ({@code >= 0})
     * @param balanced      class weights {@code n / (C n_c)} (else every row weighs 1)
     * @param bias          whether to fit a bias per class
     * @param maxIterations most L-BFGS iterations
     * @param tolerance     stop when the gradient's largest entry falls below this
     */
    public record Settings(double l2, boolean balanced, boolean bias, int maxIterations, double tolerance) {
        public Settings {
            if (!(l2 >= 0) || Double.isInfinite(l2)) {
                throw new IllegalArgumentException("l2 must be a finite number >= 0, got " + l2);
            }
            if (maxIterations < 1) {
                throw new IllegalArgumentException("maxIterations must be >= 1, got " + maxIterations);
            }
            if (!(tolerance > 0)) {
                throw new IllegalArgumentException("tolerance must be > 0, got " + tolerance);
            }
        }

        /** L2 1e-3, balanced classes, a bias, at most 1,000 iterations, gradient tolerance 1e-6. */
        public static Settings defaults() {
            return new Settings(1e-3, true, true, 1000, 1e-6);
        }

        public Settings withL2(double value) {
            return new Settings(value, balanced, bias, maxIterations, tolerance);
        }

        public Settings withBalanced(boolean value) {
            return new Settings(l2, value, bias, maxIterations, tolerance);
        }
    }

    /**
     * A fitted head.
     *
     * @param weight     {@code [C, D]} row-major
     * @param bias       {@code [C]} (zeros when fitted without one)
     * @param iterations L-BFGS iterations taken
     * @param loss       the objective at the end (on standardized features)
     * @param converged  whether the gradient tolerance was reached within the iteration limit
     */
    public record Head(int classes, int dim, float[] weight, float[] bias, int iterations, double loss,
            boolean converged) {
        /** {@code [C]} logits of the row at {@code x[offset .. offset + D)}. */
        public float[] logits(float[] x, int offset) {
            float[] out = new float[classes];
            for (int c = 0; c < classes; c++) {
                double s = bias[c];
                for (int j = 0; j < dim; j++) {
                    s += (double) weight[c * dim + j] * x[offset + j];
                }
                out[c] = (float) s;
            }
            return out;
        }

        /** The class with the largest logit (the lowest id among ties). */
        public int predict(float[] x, int offset) {
            float[] l = logits(x, offset);
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (l[c] > l[best]) {
                    best = c;
                }
            }
            return best;
        }
    }

    /**
     * Fits a head.
     *
     * @param x       {@code [N, D]} row-major features
     * @param labels  {@code [N]} class ids in {@code [0, classes)}
     * @param classes {@code C >= 2}; every class must have a row
     * @throws IllegalArgumentException naming a non-finite feature, a label out of range or a class without rows
     */
    public static Head fit(float[] x, int dim, int[] labels, int classes, Settings s) {
        int n = labels.length;
        if (classes < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 classes, got " + classes);
        }
        if (dim < 1 || (long) n * dim != x.length) {
            throw new IllegalArgumentException("x has " + x.length + " values for " + n + " rows of " + dim);
        }
        int[] counts = new int[classes];
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("label of row " + i + " is " + labels[i] + ", outside [0, "
                        + classes + ")");
            }
            counts[labels[i]]++;
        }
        for (int c = 0; c < classes; c++) {
            if (counts[c] == 0) {
                throw new IllegalArgumentException("class " + c + " has no rows");
            }
        }
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                throw new IllegalArgumentException("feature " + (i % dim) + " of row " + (i / dim) + " is " + x[i]);
            }
        }
        double[] mean = new double[dim];
        double[] scale = new double[dim];
        standardization(x, n, dim, mean, scale);
        double[] rowWeight = new double[classes];
        for (int c = 0; c < classes; c++) {
            rowWeight[c] = s.balanced() ? (double) n / ((double) classes * counts[c]) : 1.0;
        }
        Objective f = new Objective(x, n, dim, labels, classes, mean, scale, rowWeight, s.l2(), s.bias());
        Lbfgs.Result r = Lbfgs.minimize(f, new double[classes * dim + (s.bias() ? classes : 0)], s.maxIterations(),
                s.tolerance());
        // fold the standardization back: W z + b with z = (x - mean) / scale  ==  (W / scale) x + (b - W mean / scale)
        float[] w = new float[classes * dim];
        float[] b = new float[classes];
        for (int c = 0; c < classes; c++) {
            double shift = s.bias() ? r.x()[classes * dim + c] : 0;
            for (int j = 0; j < dim; j++) {
                double wj = r.x()[c * dim + j] / scale[j];
                w[c * dim + j] = (float) wj;
                shift -= wj * mean[j];
            }
            b[c] = (float) shift;
        }
        return new Head(classes, dim, w, b, r.iterations(), r.value(), r.converged());
    }

    /** Column means and standard deviations (1 for a constant column, which then stays 0 after centering). */
    private static void standardization(float[] x, int n, int dim, double[] mean, double[] scale) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < dim; j++) {
                mean[j] += x[i * dim + j];
            }
        }
        for (int j = 0; j < dim; j++) {
            mean[j] /= n;
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < dim; j++) {
                double d = x[i * dim + j] - mean[j];
                scale[j] += d * d;
            }
        }
        for (int j = 0; j < dim; j++) {
            double sd = Math.sqrt(scale[j] / n);
            scale[j] = sd > 1e-12 ? sd : 1.0;
        }
    }

    /** The weighted mean cross-entropy and L2 penalty on standardized features, with its gradient. */
    static final class Objective implements Lbfgs.Function {
        private static final int BLOCK = 256;
        private final float[] x;
        private final int n;
        private final int dim;
        private final int[] labels;
        private final int classes;
        private final double[] mean;
        private final double[] scale;
        private final double[] rowWeight;
        private final double l2;
        private final boolean bias;
        private final double totalWeight;

        Objective(float[] x, int n, int dim, int[] labels, int classes, double[] mean, double[] scale,
                double[] rowWeight, double l2, boolean bias) {
            this.x = x;
            this.n = n;
            this.dim = dim;
            this.labels = labels;
            this.classes = classes;
            this.mean = mean;
            this.scale = scale;
            this.rowWeight = rowWeight;
            this.l2 = l2;
            this.bias = bias;
            double t = 0;
            for (int label : labels) {
                t += rowWeight[label];
            }
            this.totalWeight = t;
        }

        @Override
        public double evaluate(double[] p, double[] grad) {
            int blocks = (n + BLOCK - 1) / BLOCK;
            // per block: its loss at [0] and its gradient after it, summed in block order (deterministic)
            double[][] parts = new double[blocks][];
            IntStream.range(0, blocks).parallel().forEach(blk -> parts[blk] = block(p, blk * BLOCK,
                    Math.min(n, (blk + 1) * BLOCK)));
            Arrays.fill(grad, 0);
            double loss = 0;
            for (double[] part : parts) {
                loss += part[0];
                for (int i = 0; i < grad.length; i++) {
                    grad[i] += part[i + 1];
                }
            }
            loss /= totalWeight;
            for (int i = 0; i < grad.length; i++) {
                grad[i] /= totalWeight;
            }
            for (int i = 0; i < classes * dim; i++) {
                loss += 0.5 * l2 * p[i] * p[i];
                grad[i] += l2 * p[i];
            }
            return loss;
        }

        private double[] block(double[] p, int from, int to) {
            double[] out = new double[1 + p.length];
            double[] z = new double[dim];
            double[] logits = new double[classes];
            for (int i = from; i < to; i++) {
                for (int j = 0; j < dim; j++) {
                    z[j] = (x[i * dim + j] - mean[j]) / scale[j];
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < classes; c++) {
                    double s = bias ? p[classes * dim + c] : 0;
                    for (int j = 0; j < dim; j++) {
                        s += p[c * dim + j] * z[j];
                    }
                    logits[c] = s;
                    max = Math.max(max, s);
                }
                double sum = 0;
                for (int c = 0; c < classes; c++) {
                    sum += Math.exp(logits[c] - max);
                }
                double lse = max + Math.log(sum);
                double w = rowWeight[labels[i]];
                out[0] += w * (lse - logits[labels[i]]);
                for (int c = 0; c < classes; c++) {
                    double d = w * (Math.exp(logits[c] - lse) - (c == labels[i] ? 1 : 0));
                    for (int j = 0; j < dim; j++) {
                        out[1 + c * dim + j] += d * z[j];
                    }
                    if (bias) {
                        out[1 + classes * dim + c] += d;
                    }
                }
            }
            return out;
        }
    }
}
