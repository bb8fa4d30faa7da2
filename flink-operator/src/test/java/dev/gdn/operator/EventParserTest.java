package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;

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

    @Test
    void everyMalformedEventHasItsReason() {
        assertThat(parse(null, "{\"tokens\":[1]}").error()).contains("missing Kafka key");
        assertThat(parse("s", "{oops").error()).startsWith("not JSON");
        assertThat(parse("s", "[1]").error()).isEqualTo("event must be a JSON object");
        assertThat(parse("s", "{\"id\":\"x\"}").error()).isEqualTo("missing 'tokens'");
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
}
