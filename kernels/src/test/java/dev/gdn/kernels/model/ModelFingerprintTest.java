package dev.gdn.kernels.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.kernels.testing.Fixtures;
import org.junit.jupiter.api.Test;

class ModelFingerprintTest {

    @Test
    void sameModelSameFingerprintAndEveryWeightCounts() {
        GatedDeltaNetModel a = GatedDeltaNetModel.load(Fixtures.model("gdn-tiny"), CpuKernels.reference());
        GatedDeltaNetModel b = GatedDeltaNetModel.load(Fixtures.model("gdn-tiny"), CpuKernels.fast(1, 64));
        assertThat(b.fingerprint()).isEqualTo(a.fingerprint());
        assertThat(a.fingerprint().hex()).hasSize(64);
        assertThat(ModelFingerprint.parse(a.fingerprint().hex())).isEqualTo(a.fingerprint());

        GatedDeltaNetModel other = GatedDeltaNetModel.load(Fixtures.model("gdn-gva-negeig"), CpuKernels.reference());
        assertThat(other.fingerprint()).isNotEqualTo(a.fingerprint());

        ModelWeights w = a.weights();
        float[] head = w.lmHead().clone();
        head[head.length - 1] = Math.nextUp(head[head.length - 1]);
        ModelWeights changed = new ModelWeights(w.embeddings(), w.layers(), w.finalNorm(), head);
        assertThat(ModelFingerprint.compute(a.config(), changed)).isNotEqualTo(a.fingerprint());
    }

    @Test
    void fingerprintsOfModelsWithoutAHeadAreThoseTheirMemoriesWereStoredWith() {
        // computed by the code before classification heads stopped counting: stored memories carry these
        assertThat(GatedDeltaNetModel.load(Fixtures.model("gdn-tiny"), CpuKernels.reference()).fingerprint().hex())
                .isEqualTo("67c93b928aa7afc83592bdb12715d846df3f2d53f0707434c6f101a67512a962");
        assertThat(GatedDeltaNetModel.load(Fixtures.model("h1-swa"), CpuKernels.reference()).fingerprint().hex())
                .isEqualTo("c3c9ab903580ae591a053b8c2f3d9ec626c79e562f37ccb659e957eeb400f57d");
    }

    @Test
    void aClassificationHeadDoesNotChangeTheFingerprint() {
        GatedDeltaNetModel a = GatedDeltaNetModel.load(Fixtures.model("gdn-tiny"), CpuKernels.reference());
        ModelWeights w = a.weights();
        int d = a.config().hiddenSize();
        ModelWeights withHead = new ModelWeights(w.embeddings(), w.layers(), w.finalNorm(), w.lmHead(),
                new float[3 * d], new float[] {1, 2, 3});
        var labelled = a.config().withLabels(java.util.List.of("low", "high", "none"));
        assertThat(ModelFingerprint.compute(labelled, withHead)).isEqualTo(a.fingerprint());
    }

    @Test
    void malformedFingerprints() {
        assertThatThrownBy(() -> ModelFingerprint.of(new byte[3])).hasMessageContaining("32 bytes, got 3");
    }
}
