package dev.gdn.kernels.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The FLA reference fixtures copied into test resources. */
public final class Fixtures {
    private Fixtures() {
    }

    public static Path fla() {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/fla/MANIFEST.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The H2 hybrid fixtures (Mamba2 + Gated DeltaNet + sliding-window attention). */
    public static Path h2() {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/h2/MANIFEST.json").toURI()).getParent();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Path h2Model(String name) {
        return h2().resolve("models").resolve(name);
    }

    /** An FLA fixture model, or an H2 one for names starting with {@code h2-}. */
    public static Path model(String name) {
        return name.startsWith("h2-") ? h2Model(name) : fla().resolve("models").resolve(name);
    }

    public static List<String> modelNames() {
        return List.of("gdn-tiny", "gdn-gva-negeig", "h1-swa");
    }

    public static Stream<Path> opCases() {
        try (Stream<Path> s = Files.list(fla().resolve("ops"))) {
            return s.sorted().toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static JsonNode manifest() {
        try {
            return new ObjectMapper().readTree(fla().resolve("MANIFEST.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The piece lengths the manifest lists for a model case. */
    public static int[] manifestPieces(String model) {
        List<Integer> p = new ArrayList<>();
        manifest().get("models").get(model).get("pieces").forEach(n -> p.add(n.asInt()));
        return p.stream().mapToInt(Integer::intValue).toArray();
    }
}
