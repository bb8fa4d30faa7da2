package dev.gdn.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bundled recall model's word-level tokenizer, through the native library in DJL's jar. */
class ModelTokenizerTest {
    static final Path RECALL = Path.of("../models/recall").toAbsolutePath().normalize();

    @Test
    void theRecallTokenizerEncodesAndDecodesTheIdsOfItsReadme() {
        try (ModelTokenizer t = ModelTokenizer.forModel(RECALL).orElseThrow()) {
            // SET = 1, GET = 2, k0..k127 = 16..143, v0..v127 = 256..383
            assertThat(t.encode("SET k5 v17")).containsExactly(1, 21, 273);
            assertThat(t.encode("GET k127")).containsExactly(2, 143);
            assertThat(t.decode(new int[] {1, 21, 273})).isEqualTo("SET k5 v17");
            assertThat(t.decode(new int[] {383})).isEqualTo("v127");
        }
    }

    @Test
    void longTextIsNeitherTruncatedNorGivenSpecialTokens() {
        try (ModelTokenizer t = ModelTokenizer.forModel(RECALL).orElseThrow()) {
            String text = "SET k1 v2 ".repeat(2000);
            int[] ids = t.encode(text);
            assertThat(ids).hasSize(6000);
            assertThat(ids[0]).isEqualTo(1);
            assertThat(ids[5999]).isEqualTo(258);
        }
    }

    @Test
    void aModelWithoutTokenizerHasNoneAndABrokenOneIsANamedError(@TempDir Path dir) throws Exception {
        assertThat(ModelTokenizer.forModel(dir)).isEmpty();
        Files.writeString(dir.resolve("tokenizer.json"), "{\"not\": \"a tokenizer\"}");
        assertThatThrownBy(() -> ModelTokenizer.forModel(dir)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("tokenizer.json could not be loaded as a Hugging Face tokenizer");
    }

    @Test
    void anInvalidOrLoopingTokenizerFileIsAnErrorWhoseOneLineRootCauseNamesTheFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, "{\"a\" 1}");
        assertThatThrownBy(() -> ModelTokenizer.forModel(dir))
                .satisfies(e -> assertThat(dev.gdn.job.RootCause.line(e)).contains(f + " could not be loaded"));
        Files.delete(f);
        Files.createSymbolicLink(f, f);
        assertThatThrownBy(() -> ModelTokenizer.forModel(dir)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(f + " is not a readable file (a broken or looping link, or a folder)");
    }

    /**
     * A restarted Flink job loads its classes in a new class loader of the same JVM: the tokenizer works in
     * each of three fresh loaders (the JVM refuses a native library already loaded by another one).
     */
    @Test
    void theTokenizerLoadsAgainInEveryNewClassLoaderOfTheJvm() throws Exception {
        java.net.URL[] urls = java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .map(p -> {
                    try {
                        return Path.of(p).toUri().toURL();
                    } catch (java.net.MalformedURLException e) {
                        throw new IllegalStateException(e);
                    }
                }).toArray(java.net.URL[]::new);
        for (int attempt = 0; attempt < 3; attempt++) {
            try (var loader = new java.net.URLClassLoader(urls, ClassLoader.getPlatformClassLoader())) {
                Class<?> c = loader.loadClass(ModelTokenizer.class.getName());
                assertThat(c).isNotSameAs(ModelTokenizer.class);
                Object opt = c.getMethod("forModel", Path.class).invoke(null, RECALL);
                Object t = ((java.util.Optional<?>) opt).orElseThrow();
                int[] ids = (int[]) c.getMethod("encode", String.class).invoke(t, "SET k5 v17");
                assertThat(ids).as("attempt %d", attempt).containsExactly(1, 21, 273);
                c.getMethod("close").invoke(t);
            }
        }
    }
}
