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
            boolean attention = dev.gdn.kernels.layers.attention.AttentionConfig.of(c).map(a -> a.layers().contains(layer))
                    .orElse(false);
            boolean mamba2 = dev.gdn.kernels.layers.mamba2.Mamba2Config.of(c).map(m -> m.layers().contains(layer))
                    .orElse(false);
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

    @ParameterizedTest
    @ValueSource(strings = {"gdn-tiny", "h1-swa", "h2-tiny"})
    void aMemoryIsItsPartsAsItsKindLaysThemOut(String name) {
        ModelConfig c = ModelConfig.load(Fixtures.model(name));
        GatedDeltaNetModel model = GatedDeltaNetModel.load(Fixtures.model(name), CpuKernels.fast(1, 64));
        var mem = model.newMemory();
        model.forward(List.of(new StreamInput(mem, new int[] {3, 1, 4, 1, 5})), false);
        for (int l = 0; l < c.numLayers(); l++) {
            LayerKind kind = LayerKinds.of(c, l);
            MemoryShape shape = kind.memoryShape(c);
            var layer = mem.layer(l);
            assertThat(layer.kind()).isSameAs(kind);
            assertThat(shape.kind()).isSameAs(kind);
            assertThat(LayerKinds.byCode(kind.code())).isSameAs(kind);
            long[] sizes = shape.partFloats();
            assertThat(layer.parts().length).isEqualTo(sizes.length);
            for (int p = 0; p < sizes.length; p++) {
                assertThat((long) layer.parts()[p].length).as(name + " layer " + l + " part " + p).isEqualTo(sizes[p]);
            }
            assertThat(kind.fits(shape, layer)).isTrue();
            assertThat(kind.fromParts(shape, layer.parts(), layer.position())).isEqualTo(layer);
            assertThat(kind.zeros(shape)).isEqualTo(model.newMemory().layer(l));
            for (LayerKind other : LayerKinds.all()) {
                if (other != kind) {
                    assertThat(other.fits(shape, layer)).isFalse();
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void shapesReadAsTheMemoryFormatDocumentsThem() {
        assertThat(MemoryShape.of(LayerKinds.GATED_DELTANET, 4, 64, 128, 3, 256, 512))
                .hasToString("deltanet[HV=4, K=64, V=128, conv=3x(256,256,512)]");
        assertThat(MemoryShape.of(LayerKinds.ATTENTION, 64, 128)).hasToString("attention[W=64, row=128]");
        assertThat(MemoryShape.of(LayerKinds.MAMBA2, 8, 32, 16, 3, 320)).hasToString("mamba2[H=8, P=32, N=16, conv=3x320]");
        assertThat(MemoryShape.of(LayerKinds.MAMBA2, 8, 32, 16, 3, 320).floats()).isEqualTo(8L * 32 * 16 + 3 * 320);
        assertThatThrownBy(() -> MemoryShape.of(LayerKinds.ATTENTION, 64)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a attention layer has 2 dimensions, got [64]");
        assertThatThrownBy(() -> LayerKinds.byCode(9)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no layer kind has code 9");
    }
}
