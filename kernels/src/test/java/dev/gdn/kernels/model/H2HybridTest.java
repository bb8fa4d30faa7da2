package dev.gdn.kernels.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.mamba2.Mamba2LayerMemory;
import dev.gdn.kernels.parity.ModelParity;
import dev.gdn.kernels.parity.ParityReport;
import dev.gdn.kernels.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The H2 hybrid (Mamba2 + Gated DeltaNet + sliding-window attention) on the CPU against FLA's own
 * layers: logits (1e-4) and every layer's final memory, in one pass and in pieces of any size,
 * multi-token pieces after the first included (which FLA's Mamba2 cache cannot do).
 */
class H2HybridTest {
    private static final Path TINY = Fixtures.h2Model("h2-tiny");

    @ParameterizedTest(name = "pieces {0}")
    @ValueSource(strings = {"100", "40,1,1,30,28", "50,50", "1,99", "7,13,64,16"})
    void h2TinyMatchesFlaForAnySplit(String split) {
        check(GatedDeltaNetModel.load(TINY, CpuKernels.fast()), split);
    }

    /** The Mamba2 layers' chunked (SSD) scan (runs from 16 tokens, chunks of 64) against the same fixture. */
    @ParameterizedTest(name = "pieces {0}")
    @ValueSource(strings = {"100", "40,1,1,30,28", "50,50"})
    void h2TinyMatchesFlaThroughTheChunkedScan(String split) {
        check(GatedDeltaNetModel.load(TINY, CpuKernels.fast(2, 16, 0)), split);
    }

    @Test
    void h2TinyMatchesFlaOnTheReferenceKernelsAndTheManifestsStreamedPieces() {
        GatedDeltaNetModel m = GatedDeltaNetModel.load(TINY, CpuKernels.reference());
        int[] pieces = new int[61];
        pieces[0] = 40;
        java.util.Arrays.fill(pieces, 1, 61, 1);
        ParityReport r = ModelParity.check(m, TINY.resolve("expected.safetensors"), pieces, 1e-4);
        r.lines().forEach(l -> System.out.println("h2-tiny reference " + l));
        assertThat(r.lines()).allSatisfy(l -> assertThat(l.pass()).as(l.toString()).isTrue());
    }

    private static void check(GatedDeltaNetModel m, String split) {
        int[] pieces = java.util.Arrays.stream(split.split(",")).mapToInt(Integer::parseInt).toArray();
        ParityReport r = ModelParity.check(m, TINY.resolve("expected.safetensors"), pieces, 1e-4);
        r.lines().forEach(l -> System.out.println("h2-tiny " + split + " " + l));
        // logits twice (one pass, pieces) and, per pass, 2 Mamba2 x 2 + 2 GDN x 4 + 2 attention x 2 memories
        assertThat(r.lines()).hasSize(2 + 2 * (4 + 8 + 4));
        assertThat(r.lines()).allSatisfy(l -> assertThat(l.pass()).as(l.toString()).isTrue());
    }

    @Test
    void theConfigNamesItsMamba2LayersAndTheirShapes() {
        var c = GatedDeltaNetModel.load(TINY, CpuKernels.fast()).config();
        assertThat(java.util.stream.IntStream.range(0, c.numLayers()).mapToObj(l -> LayerKinds.of(c, l)))
                .containsExactly(LayerKinds.MAMBA2, LayerKinds.GATED_DELTANET, LayerKinds.ATTENTION, LayerKinds.MAMBA2,
                        LayerKinds.GATED_DELTANET, LayerKinds.ATTENTION);
        var m = dev.gdn.kernels.layers.mamba2.Mamba2Config.of(c).orElseThrow();
        assertThat(m.innerDim()).isEqualTo(256);
        assertThat(m.convDim()).isEqualTo(288);
        assertThat(m.inProjRows()).isEqualTo(552);
    }

    /** A stream's results and memory are bitwise the same alone and beside other streams. */
    @Test
    void aStreamsResultsDoNotDependOnItsBatch() {
        GatedDeltaNetModel m = GatedDeltaNetModel.load(TINY, CpuKernels.fast());
        Random rnd = new Random(4);
        int[] mine = rnd.ints(37, 0, m.config().vocabSize()).toArray();
        StreamMemory aloneMem = m.newMemory();
        float[] alone = m.forward(List.of(new StreamInput(aloneMem, mine))).logits();
        List<StreamInput> batch = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            batch.add(new StreamInput(m.newMemory(), rnd.ints(1 + rnd.nextInt(60), 0, m.config().vocabSize()).toArray()));
        }
        StreamMemory inBatchMem = m.newMemory();
        batch.add(2, new StreamInput(inBatchMem, mine));
        float[] inBatch = m.forward(batch).logitsOf(2);
        assertThat(inBatch).containsExactly(alone);
        for (int l = 0; l < m.config().numLayers(); l++) {
            assertThat(inBatchMem.layer(l)).as("layer %d memory", l).isEqualTo(aloneMem.layer(l));
        }
    }

    @Test
    void aMemoryOfAnotherLayoutIsRefusedNamingTheLayer() {
        GatedDeltaNetModel h2 = GatedDeltaNetModel.load(TINY, CpuKernels.fast());
        StreamMemory mem = h2.newMemory();
        LayerMemory[] layers = new LayerMemory[6];
        for (int l = 0; l < 6; l++) {
            layers[l] = mem.layer(l);
        }
        layers[0] = Mamba2LayerMemory.zeros(10, 10);
        StreamMemory bad = new StreamMemory(layers, 0, h2.fingerprint());
        assertThatThrownBy(() -> h2.forward(List.of(new StreamInput(bad, new int[] {1}))))
                .hasMessageContaining("memory of layer 0 does not match");
    }
}
