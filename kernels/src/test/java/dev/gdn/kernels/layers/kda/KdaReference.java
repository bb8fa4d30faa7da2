package dev.gdn.kernels.layers.kda;

import dev.gdn.kernels.config.ModelConfig;

/**
 * One Kimi Delta Attention layer evaluated in double precision with plain loops, written from the
 * layer's definition alone (FLA's {@code KimiDeltaAttention} with its kernels' in-kernel gate, beta
 * sigmoid and q/k L2 norm): the test's independent account of what {@link KdaMixer} computes.
 */
final class KdaReference {
    private KdaReference() {
    }

    /**
     * @param x       {@code [rows, D]}
     * @param offsets stream row offsets
     * @param states  per stream its state {@code [HV, K, V]}, advanced in place (conv caches start at zero)
     * @return {@code [rows, D]}
     */
    static double[] forward(ModelConfig c, KdaWeights w, float[] x, int[] offsets, double[][] states) {
        int d = c.hiddenSize();
        int h = c.numHeads();
        int hv = c.numValueHeads();
        int kd = c.headDim();
        int vd = c.headValueDim();
        int width = c.convSize();
        int rows = offsets[offsets.length - 1];
        double[] q = conv(linear(x, rows, d, w.qProj(), h * kd, null), offsets, h * kd, w.qConv(), width);
        double[] k = conv(linear(x, rows, d, w.kProj(), h * kd, null), offsets, h * kd, w.kConv(), width);
        double[] v = conv(linear(x, rows, d, w.vProj(), hv * vd, null), offsets, hv * vd, w.vConv(), width);
        double[] f = linear(toFloat(linear(x, rows, d, w.fDown(), vd, null)), rows, vd, w.fUp(), hv * kd, null);
        double[] b = linear(x, rows, d, w.bProj(), hv, null);
        double[] gate = linear(toFloat(linear(x, rows, d, w.gDown(), vd, null)), rows, vd, w.gUp(), hv * vd, w.gBias());
        java.util.OptionalDouble lower = KdaConfig.of(c).orElseThrow().lowerBound();
        double[] y = new double[rows * hv * vd];
        for (int s = 0; s + 1 < offsets.length; s++) {
            double[] st = states[s];
            for (int t = offsets[s]; t < offsets[s + 1]; t++) {
                for (int j = 0; j < hv; j++) {
                    int hk = j / (hv / h);
                    double[] qh = l2(q, t * h * kd + hk * kd, kd);
                    double[] kh = l2(k, t * h * kd + hk * kd, kd);
                    double beta = (c.allowNegEigval() ? 2 : 1) / (1 + Math.exp(-b[t * hv + j]));
                    double a = Math.exp(w.aLog()[j]);
                    int so = j * kd * vd;
                    for (int r = 0; r < kd; r++) {
                        double pre = f[t * hv * kd + j * kd + r] + w.dtBias()[j * kd + r];
                        double g = lower.isPresent() ? lower.getAsDouble() / (1 + Math.exp(-a * pre))
                                : -a * (pre > 20 ? pre : Math.log1p(Math.exp(pre)));
                        for (int col = 0; col < vd; col++) {
                            st[so + r * vd + col] *= Math.exp(g);
                        }
                    }
                    for (int col = 0; col < vd; col++) {
                        double sk = 0;
                        for (int r = 0; r < kd; r++) {
                            sk += st[so + r * vd + col] * kh[r];
                        }
                        double u = beta * (v[t * hv * vd + j * vd + col] - sk);
                        for (int r = 0; r < kd; r++) {
                            st[so + r * vd + col] += kh[r] * u;
                        }
                    }
                    double ms = 0;
                    double[] o = new double[vd];
                    for (int col = 0; col < vd; col++) {
                        for (int r = 0; r < kd; r++) {
                            o[col] += st[so + r * vd + col] * qh[r] / Math.sqrt(kd);
                        }
                        ms += o[col] * o[col];
                    }
                    double inv = 1 / Math.sqrt(ms / vd + c.normEps());
                    for (int col = 0; col < vd; col++) {
                        int i = t * hv * vd + j * vd + col;
                        y[i] = o[col] * inv * w.oNorm()[col] / (1 + Math.exp(-gate[i]));
                    }
                }
            }
        }
        return linear(toFloat(y), rows, hv * vd, w.oProj(), d, null);
    }

    private static double[] linear(float[] x, int rows, int in, float[] weight, int out, float[] bias) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    s += (double) x[r * in + i] * weight[o * in + i];
                }
                y[r * out + o] = s;
            }
        }
        return y;
    }

    private static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }

    /** Causal depthwise convolution of each stream from a zero cache, then SiLU. */
    private static double[] conv(double[] x, int[] offsets, int dim, float[] weight, int width) {
        double[] y = new double[x.length];
        for (int s = 0; s + 1 < offsets.length; s++) {
            for (int t = offsets[s]; t < offsets[s + 1]; t++) {
                for (int ch = 0; ch < dim; ch++) {
                    double sum = 0;
                    for (int j = 0; j < width; j++) {
                        int src = t - (width - 1) + j;
                        if (src >= offsets[s]) {
                            sum += weight[ch * width + j] * x[src * dim + ch];
                        }
                    }
                    y[t * dim + ch] = sum / (1 + Math.exp(-sum));
                }
            }
        }
        return y;
    }

    private static double[] l2(double[] x, int off, int n) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            ss += x[off + i] * x[off + i];
        }
        double inv = 1 / Math.sqrt(ss + 1e-6);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = x[off + i] * inv;
        }
        return out;
    }
}
