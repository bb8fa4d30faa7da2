package dev.gdn.head;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gdn.kernels.head.SoftmaxRegression;
import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeadCheckpointTest {
    static final Path SUMMARY = HeadFitTest.SUMMARY;

    @TempDir
    Path tmp;

    @Test
    void theWrittenModelClassifiesWithTheHeadKeepsItsWeightsAndItsFingerprint() throws Exception {
        GatedDeltaNetModel base = GatedDeltaNetModel.load(SUMMARY, CpuKernels.reference());
        int d = base.config().hiddenSize();
        SoftmaxRegression.Head head = head(3, d, 5);
        Path out = tmp.resolve("with-head");
        HeadCheckpoint.write(SUMMARY, out, List.of("high", "low", "none"), head, d);

        GatedDeltaNetModel m = GatedDeltaNetModel.load(out, CpuKernels.reference());
        assertThat(m.config().labels()).containsExactly("high", "low", "none");
        assertThat(m.fingerprint()).isEqualTo(base.fingerprint());
        assertThat(Files.readString(out.resolve("tokenizer.json"))).isEqualTo(Files.readString(SUMMARY.resolve("tokenizer.json")));
        var config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertThat(config.path("label2id").path("none").asInt()).isEqualTo(2);
        try (SafetensorsFile a = SafetensorsFile.open(SUMMARY.resolve("model.safetensors"));
                SafetensorsFile b = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            for (String name : a.tensors().keySet()) {
                assertThat(b.info(name).dtype()).isEqualTo(a.info(name).dtype());
                assertThat(b.bytes(name)).as(name).isEqualTo(a.bytes(name));
            }
            assertThat(b.tensors().keySet()).hasSize(a.tensors().size() + 2).contains("score.weight", "score.bias");
        }
        // the job's classification (GatedDeltaNetModel.classify) is the softmax of the head's logits
        SplittableRandom r = new SplittableRandom(2);
        float[] x = new float[d];
        for (int i = 0; i < d; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] l = head.logits(x, 0);
        double max = Math.max(l[0], Math.max(l[1], l[2]));
        double z = Math.exp(l[0] - max) + Math.exp(l[1] - max) + Math.exp(l[2] - max);
        float[] p = m.classify(x);
        for (int c = 0; c < 3; c++) {
            assertThat((double) p[c]).isCloseTo(Math.exp(l[c] - max) / z, within(1e-6));
        }

        // a head written over a model that has one replaces it
        Path again = tmp.resolve("refit");
        HeadCheckpoint.write(out, again, List.of("yes", "no"), head(2, d, 6), d);
        GatedDeltaNetModel m2 = GatedDeltaNetModel.load(again, CpuKernels.reference());
        assertThat(m2.config().labels()).containsExactly("yes", "no");
        assertThat(m2.weights().score()).hasSize(2 * d);
        assertThat(m2.fingerprint()).isEqualTo(base.fingerprint());
    }

    @Test
    void aTargetThatIsTheModelOrNotEmptyOrAHeadOfAnotherWidthIsRefused() throws Exception {
        int d = 256;
        assertThatThrownBy(() -> HeadCheckpoint.write(SUMMARY, SUMMARY, List.of("a", "b"), head(2, d, 1), d))
                .hasMessageContaining("is the --model folder");
        Files.writeString(tmp.resolve("x"), "x");
        assertThatThrownBy(() -> HeadCheckpoint.write(SUMMARY, tmp, List.of("a", "b"), head(2, d, 1), d))
                .hasMessageContaining("is not empty");
        assertThatThrownBy(() -> HeadCheckpoint.write(SUMMARY, tmp.resolve("new"), List.of("a", "b"), head(2, 128, 1), d))
                .hasMessage("a head of 2 classes x 128 features does not fit a model of hidden size 256 with 2 classes");
        assertThat(tmp.resolve("new")).doesNotExist();
    }

    @Test
    void aModelWhoseHeadIsNotAsWideAsItsHiddenStateIsRefusedAtLoadNamingBothShapes() throws Exception {
        Path good = tmp.resolve("good");
        HeadCheckpoint.write(SUMMARY, good, List.of("a", "b"), head(2, 256, 1), 256);
        Path bad = tmp.resolve("bad");
        Files.createDirectories(bad);
        Files.copy(good.resolve("config.json"), bad.resolve("config.json"));
        var w = new dev.gdn.kernels.io.SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(good.resolve("model.safetensors"))) {
            for (String name : f.tensors().keySet()) {
                if (!name.equals("score.weight")) {
                    w.addStored(name, f.info(name).dtype(), f.info(name).shape(), f.bytes(name));
                }
            }
        }
        w.addF32("score.weight", new float[2 * 128], 2, 128).write(bad.resolve("model.safetensors"));
        assertThatThrownBy(() -> GatedDeltaNetModel.load(bad, CpuKernels.reference()))
                .hasMessageContaining("tensor 'score.weight' has shape [2, 128], expected [2, 256]");
    }

    static SoftmaxRegression.Head head(int classes, int d, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[classes * d];
        float[] b = new float[classes];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.1);
        }
        for (int i = 0; i < classes; i++) {
            b[i] = (float) r.nextGaussian();
        }
        return new SoftmaxRegression.Head(classes, d, w, b, 1, 0, true);
    }
}
