package dev.gdn.kernels.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * The CPU forward reuses its thread's scratch buffers: a small bundle run after large ones (buffers
 * longer than needed, full of the earlier bundle's values) gives the bits the same bundle gives on a
 * thread that never ran anything.
 */
class ScratchReuseTest {
    @Test
    void aSmallBundleAfterLargeOnesGivesTheBitsOfAFreshThread() throws Exception {
        for (String name : new String[] {"gdn-tiny", "gdn-gva-negeig", "h1-swa"}) {
            GatedDeltaNetModel model = GatedDeltaNetModel.load(Fixtures.model(name), CpuKernels.fast(2, 16, 0));
            var executor = Executors.newSingleThreadExecutor();
            try {
                ForwardResult afterLarge = CompletableFuture.supplyAsync(() -> {
                    model.forward(batch(model, 3, 70, 11), true);
                    model.forward(batch(model, 5, 9, 12), true);
                    return model.forward(batch(model, 2, 3, 13), true);
                }, executor).get();
                ForwardResult fresh = CompletableFuture.supplyAsync(() -> model.forward(batch(model, 2, 3, 13), true),
                        Executors.newSingleThreadExecutor()).get();
                assertThat(afterLarge.hidden()).as(name + " hidden").containsExactly(fresh.hidden());
                assertThat(afterLarge.logits()).as(name + " logits").containsExactly(fresh.logits());
            } finally {
                executor.shutdown();
            }
        }
    }

    private static List<StreamInput> batch(GatedDeltaNetModel model, int streams, int tokens, int seed) {
        List<StreamInput> batch = new ArrayList<>();
        int vocab = model.config().vocabSize();
        for (int s = 0; s < streams; s++) {
            int[] t = new int[tokens];
            for (int i = 0; i < tokens; i++) {
                t[i] = Math.floorMod(seed * 31 + s * 17 + i * 7, vocab);
            }
            batch.add(new StreamInput(model.newMemory(), t));
        }
        return batch;
    }
}
