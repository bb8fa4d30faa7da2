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
    void malformedFingerprints() {
        assertThatThrownBy(() -> ModelFingerprint.of(new byte[3])).hasMessageContaining("32 bytes, got 3");
    }
}
