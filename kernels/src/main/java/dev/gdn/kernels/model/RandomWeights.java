package dev.gdn.kernels.model;

import dev.gdn.kernels.config.AttentionConfig;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.ModelWeights.AttentionWeights;
import dev.gdn.kernels.model.ModelWeights.BlockWeights;
import dev.gdn.kernels.model.ModelWeights.DeltaNetWeights;
import dev.gdn.kernels.model.ModelWeights.MixerWeights;
import dev.gdn.kernels.model.ModelWeights.MlpWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Seeded random weights of the right shapes for a config: for benchmarks of shapes no checkpoint is
 * shipped for (FLA-1B). Initialised like FLA (normal with std 0.02, unit norms, A in [1, 16]).
 */
public final class RandomWeights {
    private RandomWeights() {
    }

    public static ModelWeights of(ModelConfig c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int d = c.hiddenSize();
        float[] emb = normal(r, c.vocabSize() * d);
        List<BlockWeights> blocks = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            MixerWeights mixer;
            if (c.isAttentionLayer(l)) {
                AttentionConfig a = c.attention().orElseThrow();
                int q = a.numHeads() * a.headDim();
                int kv = a.numKvHeads() * a.headDim();
                mixer = new AttentionWeights(normal(r, q * d), normal(r, kv * d), normal(r, kv * d), normal(r, d * q),
                        null, null, null);
            } else {
                int hv = c.numValueHeads();
                float[] aLog = new float[hv];
                float[] dt = new float[hv];
                for (int j = 0; j < hv; j++) {
                    aLog[j] = (float) Math.log(1 + 15 * r.nextDouble());
                    dt[j] = (float) (r.nextDouble() * 2 - 4);
                }
                int w = c.convSize();
                mixer = new DeltaNetWeights(normal(r, c.keyDim() * d), normal(r, c.keyDim() * d),
                        normal(r, c.valueDim() * d), normal(r, hv * d), normal(r, hv * d), aLog, dt,
                        c.useShortConv() ? normal(r, c.keyDim() * w) : null,
                        c.useShortConv() ? normal(r, c.keyDim() * w) : null,
                        c.useShortConv() ? normal(r, c.valueDim() * w) : null,
                        c.useGate() ? normal(r, c.valueDim() * d) : null, ones(c.headValueDim()),
                        normal(r, d * c.valueDim()));
            }
            int inter = c.intermediateSize();
            blocks.add(new BlockWeights(ones(d), mixer, ones(d),
                    new MlpWeights(normal(r, inter * d), normal(r, inter * d), normal(r, d * inter))));
        }
        float[] head = c.tieWordEmbeddings() ? emb : normal(r, c.vocabSize() * d);
        return new ModelWeights(emb, List.copyOf(blocks), ones(d), head);
    }

    /** Rounds every weight to bfloat16 in place (a bf16 checkpoint as the model would load it) and returns {@code w}. */
    public static ModelWeights roundToBf16(ModelWeights w) {
        for (float[] t : w.tensors()) {
            if (t != null) {
                for (int i = 0; i < t.length; i++) {
                    t[i] = dev.gdn.kernels.io.HalfFloats.bf16ToFloat(dev.gdn.kernels.io.HalfFloats.floatToBf16(t[i]));
                }
            }
        }
        return w;
    }

    /** FLA's 1B Gated DeltaNet shape: hidden 2048, 6 heads, K 256, V 512, vocab 32000. */
    public static ModelConfig fla1b(int layers) {
        return new ModelConfig(32000, 2048, 6, 6, 256, 512, layers, 4, true, true, false, 1e-6f, 5632, false,
                Optional.empty());
    }

    private static float[] normal(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            // sum of 4 uniforms: cheap, near-normal, std 0.02
            double s = r.nextDouble() + r.nextDouble() + r.nextDouble() + r.nextDouble() - 2.0;
            a[i] = (float) (s * 0.02 * Math.sqrt(3.0));
        }
        return a;
    }

    private static float[] ones(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, 1f);
        return a;
    }
}
