package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The result documents the sink writes, field for field, against hand-written JSON. */
class ResultJsonTest {

    @Test
    void anEventResultCarriesItsScoresInTheDocumentedOrder() {
        StreamResult r = StreamResult.event("s1", "e7", 3, 123, 2.5f, new int[] {308, 12}, new float[] {0.75f, 0.125f},
                new String[] {"a", "b"}, new float[] {0.25f, 0.75f}, new String[] {"normal", "anomaly"},
                new float[] {1f, -0.5f});
        assertThat(r.json()).isEqualTo("{\"stream\":\"s1\",\"id\":\"e7\",\"tokens\":3,\"tokens_consumed\":123,"
                + "\"nll\":2.5,\"top_k\":[{\"token\":308,\"text\":\"a\",\"p\":0.75},{\"token\":12,\"text\":\"b\","
                + "\"p\":0.125}],\"label\":\"anomaly\",\"probs\":{\"normal\":0.25,\"anomaly\":0.75},"
                + "\"embedding\":[1.0,-0.5]}");
    }

    @Test
    void theRecordsBytesAreTheDocumentInUtf8WithTextOutsideAscii() {
        StreamResult r = StreamResult.event("str\u00f3m-\u6d41", "\u00e9\u20ac\"\n", 1, 2, 0.1f, new int[] {4, 5},
                new float[] {0.5f, 0.25f}, new String[] {"caf\u00e9", "\ud83d\ude00\t"}, null, null, null);
        String expected = "{\"stream\":\"str\u00f3m-\u6d41\",\"id\":\"\u00e9\u20ac\\\"\\n\",\"tokens\":1,"
                + "\"tokens_consumed\":2,\"nll\":0.1,\"top_k\":[{\"token\":4,\"text\":\"caf\u00e9\",\"p\":0.5},"
                + "{\"token\":5,\"text\":\"\ud83d\ude00\\t\",\"p\":0.25}]}";
        assertThat(r.json()).isEqualTo(expected);
        assertThat(r.jsonUtf8()).isEqualTo(expected.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void anEventWithoutPredictionsOrIdWritesANullNllAndNothingElse() {
        StreamResult r = StreamResult.event("s1", null, 1, 1, Float.NaN, null, null, null, null, null, null);
        assertThat(r.json()).isEqualTo("{\"stream\":\"s1\",\"tokens\":1,\"tokens_consumed\":1,\"nll\":null}");
        StreamResult top = StreamResult.event("s1", "x", 2, 5, 0.1f, new int[] {4}, new float[] {1f}, null, null, null,
                null);
        assertThat(top.json()).isEqualTo("{\"stream\":\"s1\",\"id\":\"x\",\"tokens\":2,\"tokens_consumed\":5,"
                + "\"nll\":0.1,\"top_k\":[{\"token\":4,\"p\":1.0}]}");
    }

    @Test
    void controlAndErrorResultsHaveTheirOwnFields() {
        assertThat(StreamResult.reset("s", "r1").json())
                .isEqualTo("{\"stream\":\"s\",\"id\":\"r1\",\"control\":\"reset\",\"tokens_consumed\":0}");
        assertThat(StreamResult.generated("s", StreamResult.Kind.GENERATE, "g", "generate", 9, new int[] {1, 2}, "stop",
                "hi there").json()).isEqualTo("{\"stream\":\"s\",\"id\":\"g\",\"control\":\"generate\","
                        + "\"tokens_consumed\":9,\"generated\":[1,2],\"text\":\"hi there\",\"stop\":\"stop\"}");
        assertThat(StreamResult.error("s", "e\"1", "too \"big\"").json())
                .isEqualTo("{\"stream\":\"s\",\"id\":\"e\\\"1\",\"error\":\"too \\\"big\\\"\"}");
    }

    @Test
    void aResultTravelsThroughFlinksSerializerWithEveryField() throws Exception {
        StreamResult r = StreamResult.event("s1", "e7", 3, 123, 2.5f, new int[] {308}, new float[] {0.75f},
                new String[] {"a"}, new float[] {1f}, new String[] {"only"}, new float[] {1f});
        var type = org.apache.flink.api.common.typeinfo.TypeInformation.of(StreamResult.class);
        assertThat(type).isInstanceOf(org.apache.flink.api.java.typeutils.PojoTypeInfo.class);
        var serializer = type.createSerializer(new org.apache.flink.api.common.serialization.SerializerConfigImpl());
        var out = new org.apache.flink.core.memory.DataOutputSerializer(256);
        serializer.serialize(r, out);
        StreamResult back = serializer.deserialize(new org.apache.flink.core.memory.DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back.json()).isEqualTo(r.json());
        assertThat(back).isEqualTo(r);
        assertThat(serializer.copy(r).json()).isEqualTo(r.json());
    }
}
