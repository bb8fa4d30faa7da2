package dev.gdn.kernels.model;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MixerWeights;
import dev.gdn.kernels.layers.RandomTensors;
import dev.gdn.kernels.model.ModelWeights.BlockWeights;
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
        RandomTensors t = new RandomTensors(r);
        int d = c.hiddenSize();
        float[] emb = t.normal(c.vocabSize() * d);
        List<BlockWeights> blocks = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            MixerWeights mixer = LayerKinds.of(c, l).random(c, t);
            int inter = c.intermediateSize();
            blocks.add(new BlockWeights(t.ones(d), mixer, t.ones(d),
                    new MlpWeights(t.normal(inter * d), t.normal(inter * d), t.normal(d * inter))));
        }
        float[] head = c.tieWordEmbeddings() ? emb : t.normal(c.vocabSize() * d);
        return new ModelWeights(emb, List.copyOf(blocks), t.ones(d), head);
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
        return new ModelConfig(32000, 2048, 6, 6, 256, 512, layers, 4, true, true, false, 1e-6f, 5632, false);
    }
}
