package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EventParserTest {
    final EventParser p = new EventParser(384, 8);

    EventParser.Parsed parse(String key, String value) {
        return p.parse(key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                value == null ? null : value.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void validEventsAndControls() {
        var ok = parse("s1", "{\"id\":\"e1\",\"tokens\":[1,2,383],\"expect\":5}");
        assertThat(ok.ok()).isTrue();
        assertThat(ok.event()).isEqualTo(new StreamEvent("s1", "e1", new int[] {1, 2, 383}, false));
        assertThat(parse("s1", "{\"id\":7,\"tokens\":[0]}").event().id).isEqualTo("7");
        assertThat(parse("s1", "{\"control\":\"reset\"}").event().reset).isTrue();
    }

    /** {@code "text"} through the bundled recall model's tokenizer, and every way a text event can be wrong. */
    @Test
    void textEventsAreEncodedByTheModelsTokenizerOrRefusedWithAReason() {
        try (var t = dev.gdn.text.ModelTokenizer.forModel(java.nio.file.Path.of("../models/recall")).orElseThrow()) {
            EventParser text = new EventParser(384, 8).withTokenizer(t::encode);
            var ok = text.parse("s1".getBytes(StandardCharsets.UTF_8),
                    "{\"id\":\"e\",\"text\":\"SET k5 v17\"}".getBytes(StandardCharsets.UTF_8));
            assertThat(ok.event()).isEqualTo(new StreamEvent("s1", "e", new int[] {1, 21, 273}, false));
            assertThat(reason(text, "{\"text\":\"SET k5 v17\",\"tokens\":[1]}"))
                    .isEqualTo("an event carries 'tokens' or 'text', not both");
            assertThat(reason(text, "{\"text\":5}")).isEqualTo("'text' must be a string, found number");
            assertThat(reason(text, "{\"text\":\"   \"}")).isEqualTo("'text' encodes to no tokens");
            assertThat(reason(text, "{\"text\":\"" + "GET k1 ".repeat(5) + "\"}"))
                    .isEqualTo("'text' encodes to 10 tokens, more than gdn.event.max-tokens = 8");
            assertThat(reason(text, "{\"control\":\"reset\",\"text\":\"GET k1\"}"))
                    .isEqualTo("a control event carries no 'tokens' or 'text'");
            EventParser small = new EventParser(100, 8).withTokenizer(t::encode);
            assertThat(reason(small, "{\"text\":\"GET k100\"}")).contains("token id 116, outside the model's vocabulary [0, 100)");
        }
        assertThat(parse("s", "{\"text\":\"SET k5 v17\"}").error())
                .isEqualTo("'text' needs a model with a tokenizer.json and this model has none: send 'tokens'");
    }

    /** Generate controls: prompt as ids or text, every setting checked, stop sequences as text or ids. */
    @Test
    void generateControlsAreParsedAndEveryBadSettingIsADeadLetterWithItsReason() {
        var ids = parse("s", "{\"id\":\"g\",\"control\":\"generate\",\"prompt\":[2,21],\"max_tokens\":3,"
                + "\"temperature\":0.7,\"top_k\":5,\"top_p\":0.9,\"seed\":12,\"stop\":[[273]]}");
        assertThat(ids.event().generate).isEqualTo(new GenerateSpec(new int[] {2, 21}, 3, 0.7, 5, 0.9, 12,
                new int[][] {{273}}));
        assertThat(ids.event().isControl()).isTrue();
        var defaults = parse("s", "{\"control\":\"generate\"}");
        assertThat(defaults.event().generate).isEqualTo(new GenerateSpec(new int[0], 16, 0, 0, 1, 0, new int[0][]));
        assertThat(parse("s", "{\"control\":\"generate\",\"max_tokens\":0}").error())
                .isEqualTo("max_tokens must be >= 1, got 0");
        assertThat(parse("s", "{\"control\":\"generate\",\"max_tokens\":1000}").error())
                .isEqualTo("'max_tokens' = 1000 is more than gdn.generate.max-tokens = 256");
        assertThat(parse("s", "{\"control\":\"generate\",\"top_p\":2}").error()).isEqualTo("top_p must be in (0, 1], got 2.0");
        assertThat(parse("s", "{\"control\":\"generate\",\"temperature\":\"hot\"}").error())
                .isEqualTo("'temperature' = \"hot\" is not a number");
        assertThat(parse("s", "{\"control\":\"generate\",\"prompt\":[999]}").error())
                .isEqualTo("'prompt'[0] = 999 is not a token id in [0, 384)");
        assertThat(parse("s", "{\"control\":\"generate\",\"prompt\":\"GET k5\"}").error())
                .isEqualTo("'prompt' needs a model with a tokenizer.json and this model has none: send 'tokens'");
        assertThat(parse("s", "{\"control\":\"generate\",\"stop\":[\"v1\"]}").error())
                .contains("'stop'[0] is text, which needs a model with a tokenizer.json");
        assertThat(parse("s", "{\"control\":\"generate\",\"tokens\":[1]}").error())
                .isEqualTo("a generate event carries its 'prompt', not 'tokens' or 'text'");
        try (var t = dev.gdn.text.ModelTokenizer.forModel(java.nio.file.Path.of("../models/recall")).orElseThrow()) {
            EventParser text = new EventParser(384, 8).withTokenizer(t::encode).withGenerateLimit(4);
            var g = text.parse("s".getBytes(StandardCharsets.UTF_8), ("{\"control\":\"generate\",\"prompt\":\"GET k5\","
                    + "\"max_tokens\":4,\"stop\":[\"v17\", [1, 2]]}").getBytes(StandardCharsets.UTF_8));
            assertThat(g.event().generate).isEqualTo(new GenerateSpec(new int[] {2, 21}, 4, 0, 0, 1, 0,
                    new int[][] {{273}, {1, 2}}));
            assertThat(reason(text, "{\"control\":\"generate\",\"max_tokens\":5}"))
                    .isEqualTo("'max_tokens' = 5 is more than gdn.generate.max-tokens = 4");
            assertThat(reason(text, "{\"control\":\"generate\",\"prompt\":\"\"}")).isNull();
        }
    }

    static String reason(EventParser parser, String value) {
        return parser.parse("s".getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)).error();
    }

    @Test
    void everyMalformedEventHasItsReason() {
        assertThat(parse(null, "{\"tokens\":[1]}").error()).contains("missing Kafka key");
        assertThat(parse("s", "{oops").error()).startsWith("not JSON");
        assertThat(parse("s", "[1]").error()).isEqualTo("event must be a JSON object");
        assertThat(parse("s", "{\"id\":\"x\"}").error()).isEqualTo("missing 'tokens' (or 'text')");
        assertThat(parse("s", "{\"tokens\":\"1 2\"}").error()).contains("must be an array");
        assertThat(parse("s", "{\"tokens\":[]}").error()).contains("is empty");
        assertThat(parse("s", "{\"tokens\":[1,384]}").error()).contains("'tokens'[1] = 384 is outside the vocabulary [0, 384)");
        assertThat(parse("s", "{\"tokens\":[1,-1]}").error()).contains("outside the vocabulary");
        assertThat(parse("s", "{\"tokens\":[1.5]}").error()).contains("is not an integer token id");
        assertThat(parse("s", "{\"tokens\":[1,2,3,4,5,6,7,8,9]}").error()).contains("more than gdn.event.max-tokens = 8");
        assertThat(parse("s", "{\"control\":\"explode\"}").error()).contains("unknown control \"explode\"");
        assertThat(parse("s", "{\"control\":\"reset\",\"tokens\":[1]}").error()).contains("carries no 'tokens'");
        assertThat(parse("s", "{\"id\":{},\"tokens\":[1]}").error()).contains("'id' must be a string or an integer");
    }

    @Test
    void exactlyOneJsonObjectPerRecord() {
        assertThat(parse("s", "{\"id\":\"A\",\"tokens\":[1]}{\"id\":\"B\",\"tokens\":[2]}").error())
                .startsWith("not JSON");
        assertThat(parse("s", "{\"tokens\":[1]} garbage").error()).startsWith("not JSON");
        assertThat(parse("s", "{\"tokens\":[1]}\n").ok()).isTrue();
        assertThat(parse("s", "").error()).isEqualTo("empty value");
    }

    @Test
    void duplicateFieldsAreRefusedNotLastWins() {
        assertThat(parse("s", "{\"control\":\"explode\",\"control\":\"reset\"}").error())
                .startsWith("not JSON").contains("Duplicate field 'control'");
        assertThat(parse("s", "{\"tokens\":[1],\"tokens\":[2]}").error()).contains("Duplicate field 'tokens'");
    }

    @Test
    void onlyUtf8IsAccepted() {
        String json = "{\"tokens\":[1]}";
        for (var cs : new java.nio.charset.Charset[] {StandardCharsets.UTF_16BE, StandardCharsets.UTF_16LE,
            StandardCharsets.UTF_16, java.nio.charset.Charset.forName("UTF-32")}) {
            var r = p.parse("s".getBytes(StandardCharsets.UTF_8), json.getBytes(cs));
            assertThat(r.ok()).as(cs.name()).isFalse();
            assertThat(r.error()).as(cs.name()).matches("value is not UTF-8.*|not JSON.*");
        }
        assertThat(p.parse(new byte[] {(byte) 0xff, 0x41}, json.getBytes(StandardCharsets.UTF_8)).error())
                .isEqualTo("Kafka key is not UTF-8");
    }

    @Test
    void reasonsNeverEchoHugeInput() {
        String huge = "x".repeat(700_000);
        var control = parse("s", "{\"control\":\"" + huge + "\"}");
        assertThat(control.error()).startsWith("unknown control \"xxx").contains("(700002 chars)");
        assertThat(control.error().length()).isLessThanOrEqualTo(Reasons.MAX_REASON_CHARS);
        var token = parse("s", "{\"tokens\":[1,\"" + huge + "\"]}");
        assertThat(token.error()).startsWith("'tokens'[1] = \"xxx").endsWith("is not an integer token id");
        assertThat(token.error().length()).isLessThanOrEqualTo(Reasons.MAX_REASON_CHARS);
        var number = parse("s", "{\"tokens\":[" + "9".repeat(900) + "]}");
        assertThat(number.error().length()).isLessThanOrEqualTo(Reasons.MAX_REASON_CHARS);
        assertThat(parse("s", "{\"id\":\"" + "i".repeat(257) + "\",\"tokens\":[1]}").error())
                .isEqualTo("'id' has 257 characters, more than 256");
        assertThat(Reasons.bound("r".repeat(10_000))).hasSizeLessThanOrEqualTo(Reasons.MAX_REASON_CHARS)
                .endsWith("(reason of 10000 chars cut)");
    }

    @Test
    void keyAndValueSizeLimitsUseTheSizesAsTheyArrived() {
        EventParser small = new EventParser(384, 8, 16, 100);
        byte[] value = "{\"tokens\":[1]}".getBytes(StandardCharsets.UTF_8);
        assertThat(small.parse("k".repeat(17).getBytes(StandardCharsets.UTF_8), value).error())
                .isEqualTo("Kafka key of 17 bytes, more than gdn.event.max-key-bytes = 16");
        // the source kept a prefix of a 3 MB value: the original size decides
        assertThat(small.parse("k".getBytes(StandardCharsets.UTF_8), 1, value, 3_000_000).error())
                .isEqualTo("event of 3000000 bytes, more than gdn.event.max-bytes = 100");
        assertThat(small.parse("k".repeat(16).getBytes(StandardCharsets.UTF_8), value).ok()).isTrue();
    }

    /** A word-level tokenizer.json of three words and no [UNK] token: unknown words make it throw. */
    static java.nio.file.Path tokenizerWithoutUnk(java.nio.file.Path dir) throws java.io.IOException {
        java.nio.file.Files.writeString(dir.resolve("tokenizer.json"), """
                {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
                 "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null, "decoder": null,
                 "model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1, "c": 2}, "unk_token": "[UNK]"}}""");
        return dir;
    }

    @Test
    void aStopOrTextTheTokenizerCannotEncodeIsADeadLetterNotAFailure(@org.junit.jupiter.api.io.TempDir
            java.nio.file.Path dir) throws Exception {
        try (var t = dev.gdn.text.ModelTokenizer.forModel(tokenizerWithoutUnk(dir)).orElseThrow()) {
            assertThatThrownBy(() -> t.encode("zzzunknown")).isInstanceOf(RuntimeException.class);
            EventParser parser = new EventParser(3, 8).withTokenizer(t::encode);
            assertThat(reason(parser, "{\"control\":\"generate\",\"prompt\":[2,1],\"max_tokens\":3,"
                    + "\"stop\":[\"zzzunknown\"]}")).startsWith("'stop'[0] could not be encoded by the model's tokenizer: ");
            assertThat(reason(parser, "{\"text\":\"a zzzunknown\"}"))
                    .startsWith("'text' could not be encoded by the model's tokenizer: ");
            assertThat(reason(parser, "{\"control\":\"generate\",\"prompt\":\"a zz\"}"))
                    .startsWith("'prompt' could not be encoded by the model's tokenizer: ");
            assertThat(reason(parser, "{\"control\":\"generate\",\"stop\":[\"a b\"]}")).isNull();
        }
    }

    @Test
    void textWithANulOrAnUnpairedSurrogateIsADeadLetterNotAnUnknownToken() throws Exception {
        try (var t = dev.gdn.text.ModelTokenizer.forModel(java.nio.file.Path.of("../models/recall")).orElseThrow()) {
            EventParser text = new EventParser(384, 8).withTokenizer(t::encode);
            assertThat(reason(text, "{\"text\":\"SET k5\\u0000 v17\"}"))
                    .isEqualTo("'text' holds a NUL character (\\u0000) at index 6: text must not contain one");
            assertThat(reason(text, "{\"text\":\"SET \\ud800 v17\"}"))
                    .isEqualTo("'text' holds an unpaired surrogate (\\ud800) at index 4: text must be valid Unicode");
            assertThat(reason(text, "{\"control\":\"generate\",\"stop\":[\"\\udc00\"]}"))
                    .startsWith("'stop'[0] holds an unpaired surrogate");
            // a pair is a character like any other
            assertThat(reason(text, "{\"text\":\"SET \\ud83d\\ude00 v17\"}")).isNull();
        }
    }

    @Test
    void aGenerateControlWithAnUnknownFieldOrAStopOutsideTheVocabularyIsRefused() {
        assertThat(parse("s", "{\"control\":\"generate\",\"max_tokenz\":3}").error())
                .startsWith("a generate control has no field 'max_tokenz': expected one of [control, expect, id, label, max_tokens,");
        assertThat(parse("s", "{\"control\":\"generate\",\"expect\":\"v17\",\"label\":\"high\"}").error())
                .as("annotations of replay files").isNull();
        assertThat(parse("s", "{\"control\":\"generate\",\"stop\":[[1, 384]]}").error())
                .isEqualTo("'stop'[0][1] = 384 is not a token id in [0, 384)");
        assertThat(parse("s", "{\"control\":\"generate\",\"stop\":[[-1]]}").error())
                .isEqualTo("'stop'[0][0] = -1 is not a token id in [0, 384)");
    }
}
