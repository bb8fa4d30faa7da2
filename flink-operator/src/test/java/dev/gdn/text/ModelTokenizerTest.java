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
}
