package dev.gdn.kernels.layers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.io.WeightSource;
import dev.gdn.kernels.layers.gdn.DeltaNetWeights;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.RandomWeights;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The layer kinds of the registry against the fixture checkpoints (Gated DeltaNet only, a hybrid with
 * sliding-window attention, the H2 hybrid with Mamba2 layers as well): each layer's kind is the one its
 * config.json declares, and a kind's weights account for exactly the tensors its layer has in the
 * checkpoint.
 */
class LayerKindsTest {

    /** The kind config.json declares for each layer: named in the attn or mamba2 block, else Gated DeltaNet. */
    private static List<String> declared(ModelConfig c) {
        List<String> out = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            int layer = l;
            boolean attention = c.attention().map(a -> a.layers().contains(layer)).orElse(false);
            boolean mamba2 = c.mamba2().map(m -> m.layers().contains(layer)).orElse(false);
            out.add(attention ? "attention" : mamba2 ? "mamba2" : "gated_deltanet");
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gdn-tiny", "gdn-gva-negeig", "h1-swa", "h2-tiny"})
    void everyLayerHasTheKindItsConfigDeclaresAndItsWeightsAccountForItsTensors(String name) {
        Path dir = Fixtures.model(name);
        ModelConfig c = ModelConfig.load(dir);
        GatedDeltaNetModel model = GatedDeltaNetModel.load(dir, CpuKernels.fast(1, 64));
        List<String> kinds = new ArrayList<>();
        try (WeightSource src = WeightSource.open(dir)) {
            for (int l = 0; l < c.numLayers(); l++) {
                LayerKind kind = LayerKinds.of(c, l);
                kinds.add(kind.name());
                assertThat(kind.owns(c, l)).isTrue();
                for (LayerKind other : LayerKinds.all()) {
                    assertThat(other.owns(c, l)).as(name + " layer " + l + " owned by " + other.name())
                            .isEqualTo(other == kind);
                }
                MixerWeights w = model.weights().layers().get(l).mixer();
                assertThat(w.kind()).isSameAs(kind);
                String prefix = "model.layers." + l + ".attn.";
                long inCheckpoint = src.names().stream().filter(n -> n.startsWith(prefix)).count();
                assertThat(kind.tensors(w).stream().filter(Objects::nonNull).count())
                        .as(name + " layer " + l + " tensors under " + prefix).isEqualTo(inCheckpoint);
            }
        }
        assertThat(kinds).isEqualTo(declared(c));
        System.out.println(name + ": " + kinds);
    }

    @ParameterizedTest
    @ValueSource(strings = {"h1-swa", "h2-tiny"})
    void randomWeightsOfEveryKindMakeAModelThatRuns(String name) {
        ModelConfig c = ModelConfig.load(Fixtures.model(name));
        GatedDeltaNetModel model = new GatedDeltaNetModel(c, RandomWeights.of(c, 5), CpuKernels.fast(1, 64));
        for (int l = 0; l < c.numLayers(); l++) {
            assertThat(model.weights().layers().get(l).mixer().kind()).isSameAs(LayerKinds.of(c, l));
        }
        float[] logits = model.forward(List.of(new StreamInput(model.newMemory(), new int[] {1, 2, 3})), true).logits();
        assertThat(logits).hasSize(3 * c.vocabSize());
        for (float v : logits) {
            assertThat(Float.isFinite(v)).isTrue();
        }
    }

    @org.junit.jupiter.api.Test
    void aKindGivenAnotherKindsWeightsSaysWhichItGot() {
        ModelConfig c = ModelConfig.load(Fixtures.model("h1-swa"));
        DeltaNetWeights gdn = (DeltaNetWeights) LayerKinds.GATED_DELTANET.random(c,
                new RandomTensors(new java.util.SplittableRandom(1)));
        assertThatThrownBy(() -> LayerKinds.ATTENTION.cpuMixer(c, gdn)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("layer kind attention needs AttentionWeights, got DeltaNetWeights");
    }
}
