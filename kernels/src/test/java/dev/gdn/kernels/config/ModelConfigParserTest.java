package dev.gdn.kernels.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gdn.kernels.layers.attention.AttentionConfig;
import dev.gdn.kernels.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigParserTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private ObjectNode tiny() throws IOException {
        return (ObjectNode) JSON.readTree(Fixtures.model("gdn-tiny").resolve("config.json").toFile());
    }

    private ModelConfig parse(ObjectNode n) {
        return ModelConfigParser.parse(n, "config.json");
    }

    @Test
    void readsEveryFixture() {
        ModelConfig tiny = ModelConfig.load(Fixtures.model("gdn-tiny"));
        assertThat(tiny.hiddenSize()).isEqualTo(128);
        assertThat(tiny.headValueDim()).isEqualTo(128);
        assertThat(tiny.intermediateSize()).isEqualTo(512);
        assertThat(AttentionConfig.of(tiny)).isEmpty();
        assertThat(tiny.blocks()).isEmpty();

        ModelConfig gva = ModelConfig.load(Fixtures.model("gdn-gva-negeig"));
        assertThat(gva.numValueHeads()).isEqualTo(4);
        assertThat(gva.allowNegEigval()).isTrue();
        assertThat(gva.tieWordEmbeddings()).isTrue();
        assertThat(gva.intermediateSize()).isEqualTo(256);

        ModelConfig h1 = ModelConfig.load(Fixtures.model("h1-swa"));
        AttentionConfig a = AttentionConfig.of(h1).orElseThrow();
        assertThat(a.layers()).containsExactlyInAnyOrder(1, 3);
        assertThat(a.headDim()).isEqualTo(32);
        assertThat(a.numKvHeads()).isEqualTo(2);
        assertThat(a.windowSize()).isEqualTo(16);
        assertThat(java.util.stream.IntStream.range(0, h1.numLayers())
                .filter(l -> dev.gdn.kernels.layers.LayerKinds.of(h1, l) == dev.gdn.kernels.layers.LayerKinds.GATED_DELTANET))
                .hasSize(2);
    }

    @Test
    void unknownModelType() throws IOException {
        ObjectNode n = tiny().put("model_type", "mamba2");
        assertThatThrownBy(() -> parse(n)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("model_type is 'mamba2', expected 'gated_deltanet'");
    }

    @Test
    void unknownKeyIsNamedNotIgnored() throws IOException {
        ObjectNode n = tiny().put("use_forget_gate", true);
        assertThatThrownBy(() -> parse(n)).hasMessageContaining("unsupported option(s) [use_forget_gate]");
    }

    @Test
    void optionsThatChangeTheMathButAreNotImplemented() throws IOException {
        assertThatThrownBy(() -> parse(tiny().put("hidden_act", "gelu"))).hasMessageContaining("hidden_act 'gelu'");
        assertThatThrownBy(() -> parse(tiny().put("use_l2warp", true))).hasMessageContaining("use_l2warp=true");
        assertThatThrownBy(() -> parse(tiny().put("attnres_block_size", 4))).hasMessageContaining("attnres_block_size=4");
    }

    @Test
    void badValuesNameKeyAndValue() throws IOException {
        assertThatThrownBy(() -> parse(tiny().put("hidden_size", -3)))
                .hasMessageContaining("hidden_size = -3, expected a positive integer");
        assertThatThrownBy(() -> parse(tiny().put("num_heads", 2.5)))
                .hasMessageContaining("num_heads = 2.5");
        assertThatThrownBy(() -> parse(tiny().put("use_gate", "yes")))
                .hasMessageContaining("use_gate = \"yes\", expected true or false");
        assertThatThrownBy(() -> parse(tiny().put("num_v_heads", 3)))
                .hasMessageContaining("num_v_heads 3 must be a multiple of num_heads 2");
        assertThatThrownBy(() -> parse(tiny().put("expand_v", 0.3)))
                .hasMessageContaining("must be a whole number");
    }

    @Test
    void sizesThatOverflowOrExceedAnArrayAreRefusedNotWrappedToZero() throws IOException {
        // 65536 x 65536 wraps to 0 in int arithmetic: a 0-size layout that used to be accepted
        ObjectNode huge = tiny().put("num_heads", 65536).put("num_v_heads", 65536).put("head_dim", 65536);
        assertThatThrownBy(() -> parse(huge)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("num_heads (65536) x head_dim (65536) = 4294967296 elements, more than one array holds");
        assertThatThrownBy(() -> parse(tiny().put("vocab_size", 2_000_000).put("hidden_size", 4096)))
                .hasMessageContaining("the embedding vocab_size x hidden_size (2000000 x 4096) = 8192000000 elements");
        assertThatThrownBy(() -> parse(tiny().put("num_heads", 64).put("num_v_heads", 64).put("head_dim", 8192)))
                .hasMessageContaining("the delta-rule state num_v_heads x head_dim x value head width (64 x 8192 x ");
    }

    @Test
    void attentionBlockIsChecked() throws IOException {
        ObjectNode base = (ObjectNode) JSON.readTree(Fixtures.model("h1-swa").resolve("config.json").toFile());
        ObjectNode noWindow = base.deepCopy();
        ((ObjectNode) noWindow.get("attn")).putNull("window_size");
        assertThatThrownBy(() -> parse(noWindow)).hasMessageContaining("window_size is null");
        ObjectNode extra = base.deepCopy();
        ((ObjectNode) extra.get("attn")).put("qk_norm", true);
        assertThatThrownBy(() -> parse(extra)).hasMessageContaining("unsupported option 'qk_norm'");
        ObjectNode badLayer = base.deepCopy();
        ((ObjectNode) badLayer.get("attn")).putArray("layers").add(9);
        assertThatThrownBy(() -> parse(badLayer)).hasMessageContaining("9 is not a layer index in [0, 4)");
    }

    @Test
    void missingOrBrokenFile() throws IOException {
        assertThatThrownBy(() -> ModelConfig.load(dir)).hasMessageContaining("no such file");
        Files.writeString(dir.resolve("config.json"), "{oops");
        assertThatThrownBy(() -> ModelConfig.load(dir)).hasMessageContaining("not valid JSON");
    }

    @Test
    void layerIndicesBeyondAnIntAreRefusedNotWrappedAround() throws IOException {
        ObjectNode base = (ObjectNode) JSON.readTree(Fixtures.h2Model("h2-tiny").resolve("config.json").toFile());
        ObjectNode mamba = base.deepCopy();
        ((ObjectNode) mamba.get("mamba2")).putArray("layers").add(0).add(4294967299L);
        assertThatThrownBy(() -> parse(mamba)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("mamba2.layers: 4294967299 is not a layer index in [0, 6)");
        ObjectNode attn = base.deepCopy();
        ((ObjectNode) attn.get("attn")).putArray("layers").add(2).add(4294967301L);
        assertThatThrownBy(() -> parse(attn)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("attn.layers: 4294967301 is not a layer index in [0, 6)");
    }

    /** Each kind parses its own block; a layer two blocks list is an error naming both lists. */
    @Test
    void aLayerInTwoKindsBlocksIsAnErrorNamingBoth() throws IOException {
        ObjectNode both = (ObjectNode) JSON.readTree(Fixtures.h2Model("h2-tiny").resolve("config.json").toFile());
        ((ObjectNode) both.get("attn")).putArray("layers").add(2).add(3);
        assertThatThrownBy(() -> parse(both)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("layer 3 is in the layers of more than one block: [attn.layers, mamba2.layers]");
        ObjectNode h2 = (ObjectNode) JSON.readTree(Fixtures.h2Model("h2-tiny").resolve("config.json").toFile());
        ModelConfig c = parse(h2);
        assertThat(c.blocks().keySet()).containsExactlyInAnyOrder(dev.gdn.kernels.layers.LayerKinds.ATTENTION,
                dev.gdn.kernels.layers.LayerKinds.MAMBA2);
    }

    @Test
    void anEpsilonBeyondFp32IsRefusedNotTurnedIntoInfinity() throws IOException {
        assertThatThrownBy(() -> parse(tiny().put("norm_eps", 1e300))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("norm_eps = 1.0E300, expected a positive number within fp32's range");
        assertThatThrownBy(() -> parse(tiny().put("norm_eps", 1e-300))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("norm_eps = 1.0E-300");
    }

    @Test
    void aFileWithASecondObjectOrADuplicateKeyIsNotValidJson() throws IOException {
        String good = Files.readString(Fixtures.model("gdn-tiny").resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), good + "{\"vocab_size\": 7}");
        assertThatThrownBy(() -> ModelConfig.load(dir)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("not valid JSON").hasMessageContaining("Trailing token");
        Files.writeString(dir.resolve("config.json"), good.replaceFirst("\\{", "{\"vocab_size\": 7, "));
        assertThatThrownBy(() -> ModelConfig.load(dir)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("not valid JSON").hasMessageContaining("Duplicate field 'vocab_size'");
    }
}
