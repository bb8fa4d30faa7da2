package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The streaming path for the common token event gives exactly what the full parse gives, event or
 * reason, on the common events and on every near miss (values generated from pieces of valid and
 * invalid events).
 */
class StreamingParseTest {
    private final EventParser parser = new EventParser(400, 6);

    private EventParser.Parsed parse(String value, boolean streaming) {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        return parser.parse("s".getBytes(StandardCharsets.UTF_8), 1, v, v.length, streaming);
    }

    @Property(tries = 3000)
    void theStreamingPathAgreesWithTheFullParse(@ForAll("events") String value) {
        assertThat(parse(value, true)).as(value).isEqualTo(parse(value, false));
    }

    @Test
    void commonEventsTakeTheStreamingPathAndParseAsBefore() {
        for (String v : List.of("{\"id\":\"e1\",\"tokens\":[1,2,3]}", "{\"tokens\":[399]}",
                " { \"tokens\" : [ 0 ] , \"id\" : \"a\\\"b\" } ")) {
            EventParser.Parsed p = parse(v, true);
            assertThat(p.ok()).as(v).isTrue();
            assertThat(p).isEqualTo(parse(v, false));
        }
        assertThat(parse("{\"id\":\"e1\",\"tokens\":[1,2,3]}", true).event().tokens).containsExactly(1, 2, 3);
    }

    @Test
    void otherEncodingsOfACommonEventAreLeftToTheFullParse() {
        String json = "{\"id\":\"e1\",\"tokens\":[1]}";
        for (var cs : new java.nio.charset.Charset[] {StandardCharsets.UTF_16BE, StandardCharsets.UTF_16LE,
            java.nio.charset.Charset.forName("UTF-32BE"), java.nio.charset.Charset.forName("UTF-32LE")}) {
            byte[] v = json.getBytes(cs);
            byte[] k = {'s'};
            EventParser.Parsed streamed = parser.parse(k, 1, v, v.length, true);
            assertThat(streamed.ok()).as(cs.name()).isFalse();
            assertThat(streamed).as(cs.name()).isEqualTo(parser.parse(k, 1, v, v.length, false));
        }
    }

    @Provide
    Arbitrary<String> events() {
        Arbitrary<String> token = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(12, Arbitraries.integers().between(-2, 402).map(String::valueOf)),
                net.jqwik.api.Tuple.of(1, Arbitraries.of("1.0", "1e2", "\"5\"", "null", "2147483648", "-0", "01", "[]",
                        "true")));
        Arbitrary<String> tokens = token.list().ofMinSize(0).ofMaxSize(8)
                .map(l -> "[" + String.join(",", l) + "]");
        Arbitrary<String> tokensField = Arbitraries.oneOf(tokens, Arbitraries.of("\"x\"", "null", "{}", "[1,2"))
                .map(t -> "\"tokens\":" + t);
        Arbitrary<String> idField = Arbitraries.oneOf(Arbitraries.strings().alpha().numeric().ofMaxLength(4)
                        .map(s -> "\"" + s + "\""),
                Arbitraries.of("7", "null", "\"\\u00e9\"", "\"é\"", "\"a\\u0000\"", "1.5", "[]", "\"" + "x".repeat(257) + "\""))
                .map(i -> "\"id\":" + i);
        Arbitrary<String> other = Arbitraries.of("\"text\":\"hi\"", "\"control\":\"reset\"", "\"label\":\"a\"",
                "\"x\":1", "\"tokens\":[1]", "\"id\":\"d\"");
        Arbitrary<String> field = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, tokensField), net.jqwik.api.Tuple.of(3, idField), net.jqwik.api.Tuple.of(1, other));
        Arbitrary<String> object = field.list().ofMinSize(0).ofMaxSize(3).map(l -> "{" + String.join(",", l) + "}");
        Arbitrary<String> around = Arbitraries.of("", "", "", " ", "\n", " x", "{}", "]");
        return Combinators.combine(around, object, around).as((a, o, b) -> (a.startsWith(" x") ? "" : a) + o + b);
    }
}
