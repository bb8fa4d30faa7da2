package dev.gdn.kernels.layers;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A layer kind lives in its own package: no main source of the runtime outside the kinds' packages and
 * the registry ({@link LayerKinds}) names a concrete kind (its package, its config, weights or memory class,
 * or its registry constant). The model, the CUDA engine, the config parser, the memory format, inspection,
 * {@code model info} and the job ask each layer's kind instead; a new kind is its package plus one line in
 * the registry.
 */
class KindNeutralityTest {
    private static final Pattern CONCRETE = Pattern.compile("layers\\.(gdn|attention|mamba2|kda)\\b"
            + "|\\b(AttentionConfig|Mamba2Config|KdaConfig|DeltaNetWeights|AttentionWeights|Mamba2Weights|KdaWeights"
            + "|DeltaNetLayerMemory|AttentionLayerMemory|Mamba2LayerMemory)\\b"
            + "|LayerKinds\\.(GATED_DELTANET|ATTENTION|MAMBA2|KDA)\\b");
    private static final Pattern KIND_PACKAGE = Pattern.compile(".*/dev/gdn/kernels/layers/(gdn|attention|mamba2|kda)/.*");

    @Test
    void noMainSourceOutsideTheKindsPackagesNamesAConcreteKind() throws IOException {
        Path repo = Path.of("").toAbsolutePath().getParent();
        List<String> found = new ArrayList<>();
        int scanned = 0;
        // the runtime's modules (benchmarks of one kind's kernels name their kind)
        for (String module : new String[] {"kernels", "state-backend", "flink-operator", "app"}) {
            Path src = repo.resolve(module).resolve("src/main/java");
            if (!Files.isDirectory(src)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(src)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    String path = f.toString().replace('\\', '/');
                    if (KIND_PACKAGE.matcher(path).matches() || path.endsWith("/layers/LayerKinds.java")) {
                        continue;
                    }
                    scanned++;
                    List<String> lines = Files.readAllLines(f);
                    for (int i = 0; i < lines.size(); i++) {
                        Matcher m = CONCRETE.matcher(lines.get(i));
                        if (m.find()) {
                            found.add(repo.relativize(f) + ":" + (i + 1) + ": " + m.group());
                        }
                    }
                }
            }
        }
        assertThat(scanned).as("main sources scanned").isGreaterThan(150);
        assertThat(found).as("concrete kinds named outside their packages").isEmpty();
    }
}
