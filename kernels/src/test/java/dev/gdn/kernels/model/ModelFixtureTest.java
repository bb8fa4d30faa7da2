package dev.gdn.kernels.model;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.parity.ModelParity;
import dev.gdn.kernels.parity.ParityReport;
import dev.gdn.kernels.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole FLA checkpoints: logits within 1e-4 for one pass and for the manifest's pieces, and the final
 * memories (delta-rule states, conv caches, attention windows) within 1e-4 of FLA's cache.
 */
@Timeout(300)
class ModelFixtureTest {

    static List<String> models() {
        return Fixtures.modelNames();
    }

    /** The fast kernels as shipped, and forced onto the chunkwise form for every run of 16+ tokens. */
    static List<CpuKernels> fastKernels() {
        return List.of(CpuKernels.fast(2, CpuKernels.DEFAULT_CHUNK_THRESHOLD), CpuKernels.fast(2, 16, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void fastCpuMatchesFlaForOnePassPiecesAndStates(String name) {
        for (CpuKernels k : fastKernels()) {
            checkAgainstFla(name, k);
        }
    }

    private static void checkAgainstFla(String name, CpuKernels kernels) {
        Path dir = Fixtures.model(name);
        GatedDeltaNetModel model = GatedDeltaNetModel.load(dir, kernels);
        ParityReport r = ModelParity.check(model, dir.resolve("expected.safetensors"), Fixtures.manifestPieces(name), 1e-4);
        r.lines().forEach(System.out::println);
        assertThat(r.lines()).as("compared tensors").hasSizeGreaterThan(2);
        assertThat(r.lines()).allSatisfy(l -> assertThat(l.pass()).as(l.toString()).isTrue());
        assertThat(r.lines().stream().map(ParityReport.Line::name))
                .anyMatch(n -> n.startsWith("logits (pieces"))
                .anyMatch(n -> n.contains("state"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void referenceBackendMatchesFla(String name) {
        Path dir = Fixtures.model(name);
        GatedDeltaNetModel model = GatedDeltaNetModel.load(dir, CpuKernels.reference());
        ParityReport r = ModelParity.check(model, dir.resolve("expected.safetensors"), null, 1e-4);
        assertThat(r.pass()).as(r.lines().toString()).isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void fastCpuMatchesReferenceWithinRecurrentTolerance(String name) {
        Path dir = Fixtures.model(name);
        GatedDeltaNetModel ref = GatedDeltaNetModel.load(dir, CpuKernels.reference());
        int[] ids;
        int b;
        int t;
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("expected.safetensors"))) {
            ids = f.ints("input_ids");
            b = (int) f.info("input_ids").shape()[0];
            t = (int) f.info("input_ids").shape()[1];
        }
        float[] expected = run(ref, ids, b, t);
        for (CpuKernels k : fastKernels()) {
            assertClose(name + " fast vs reference logits, chunkwise from " + k.chunkThreshold() + " tokens",
                    run(ref.withKernels(k), ids, b, t), expected, 1e-5);
        }
    }

    static float[] run(GatedDeltaNetModel m, int[] ids, int b, int t) {
        List<StreamInput> batch = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            batch.add(new StreamInput(m.newMemory(), Arrays.copyOfRange(ids, i * t, (i + 1) * t)));
        }
        return m.forward(batch).logits();
    }
}
