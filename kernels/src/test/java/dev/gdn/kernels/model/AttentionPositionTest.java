package dev.gdn.kernels.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.layers.attention.AttentionLayerMemory;
import dev.gdn.kernels.testing.Fixtures;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Sliding-window attention keeps full precision at very large positions: an unbounded stream. */
class AttentionPositionTest {

    @Test
    void resultsDoNotDependOnTheAbsolutePosition() {
        GatedDeltaNetModel m = GatedDeltaNetModel.load(Fixtures.model("h1-swa"), CpuKernels.fast(2, 32));
        int window = dev.gdn.kernels.layers.attention.AttentionConfig.of(m.config()).orElseThrow().windowSize();
        Random r = new Random(5);
        int[] warm = new int[40];
        int[] next = new int[7];
        for (int i = 0; i < warm.length; i++) {
            warm[i] = r.nextInt(m.config().vocabSize());
        }
        for (int i = 0; i < next.length; i++) {
            next[i] = r.nextInt(m.config().vocabSize());
        }
        StreamMemory early = m.newMemory();
        m.forward(List.of(new StreamInput(early, warm)));
        // the same memory, moved 2^40 + a multiple of W positions later (ring slots stay where they are)
        long shift = (1L << 40) / window * window;
        LayerMemory[] layers = new LayerMemory[m.config().numLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = early.layer(l).copy();
            if (layers[l] instanceof AttentionLayerMemory a) {
                layers[l] = new AttentionLayerMemory(a.window(), a.rowSize(), a.keys(), a.values(), a.position() + shift);
            }
        }
        StreamMemory late = new StreamMemory(layers, early.tokensConsumed() + shift, early.fingerprint());
        float[] a = m.forward(List.of(new StreamInput(early, next))).logits();
        float[] b = m.forward(List.of(new StreamInput(late, next))).logits();
        assertThat(b).containsExactly(a);
    }
}
