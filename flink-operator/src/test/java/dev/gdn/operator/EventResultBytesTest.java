package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The hot path of the result documents writes exactly Jackson's bytes, and is taken where it should be. */
class EventResultBytesTest {

    @Property(tries = 1000)
    void plainEventsTakeTheHotPathAndWriteJacksonsBytes(@ForAll("plainEvents") StreamResult r) {
        byte[] fast = new EventResultBytes().write(r);
        assertThat(fast).as("hot path taken").isNotNull();
        assertThat(new String(fast, java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo(new String(ResultJson.jackson(r), java.nio.charset.StandardCharsets.UTF_8));
    }

    @Property(tries = 1000)
    void anyEventGivesJacksonsBytes(@ForAll("anyEvents") StreamResult r) {
        assertThat(ResultJson.utf8(r)).isEqualTo(ResultJson.jackson(r));
    }

    @Example
    void textsThatNeedEscapesOrNonFiniteScoresAreLeftToJackson() {
        StreamResult quoted = StreamResult.event("s\"1", null, 1, 1, 0.5f, null, null, null, null, null, null);
        assertThat(new EventResultBytes().write(quoted)).isNull();
        StreamResult accent = StreamResult.event("s", "caf\u00e9", 1, 1, 0.5f, null, null, null, null, null, null);
        assertThat(new EventResultBytes().write(accent)).isNull();
        StreamResult infinite = StreamResult.event("s", null, 1, 1, 0.5f, new int[] {1}, new float[] {Float.NaN},
                null, null, null, null);
        assertThat(new EventResultBytes().write(infinite)).isNull();
        assertThat(new EventResultBytes().write(StreamResult.reset("s", "r"))).isNull();
    }

    static Arbitrary<String> plainText() {
        return Arbitraries.strings().withCharRange(' ', '~').excludeChars('"', '\\').ofMaxLength(12);
    }

    static Arbitrary<String> anyText() {
        return Arbitraries.oneOf(plainText(), Arbitraries.strings().ofMaxLength(8),
                Arbitraries.strings().withChars('"', '\\', '\n', '\u0001', '\u007f', '\u00e9', '\u20ac', '/')
                        .ofMaxLength(6));
    }

    static Arbitrary<Float> score() {
        return Arbitraries.oneOf(Arbitraries.floats().between(0f, 1f), Arbitraries.floats(),
                Arbitraries.of(0f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, 1e-10f, 1.0E7f, 123456.79f));
    }

    @Provide
    Arbitrary<StreamResult> plainEvents() {
        return events(plainText(), score());
    }

    @Provide
    Arbitrary<StreamResult> anyEvents() {
        return events(anyText(), Arbitraries.oneOf(score(), Arbitraries.of(Float.NaN, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY)));
    }

    private static Arbitrary<StreamResult> events(Arbitrary<String> text, Arbitrary<Float> score) {
        Arbitrary<Integer> k = Arbitraries.integers().between(-1, 5);
        Arbitrary<Integer> classes = Arbitraries.of(-1, 1, 2, 3);
        Arbitrary<StreamResult> base = Combinators.combine(text, text.injectNull(0.3), Arbitraries.integers(),
                Arbitraries.longs(), Arbitraries.oneOf(score, Arbitraries.just(Float.NaN)), k, classes,
                Arbitraries.of(true, false)).as((s, id, n, consumed, nll, top, cls, texts) -> StreamResult.event(s, id,
                        n, consumed, nll, top < 0 ? null : new int[top], top < 0 ? null : new float[top],
                        top < 0 || !texts ? null : new String[top], cls < 0 ? null : new float[cls],
                        cls < 0 ? null : new String[cls], null));
        return Combinators.combine(base, text.list().ofSize(8), score.list().ofSize(16),
                Arbitraries.integers().list().ofSize(5), Arbitraries.of(true, false)).as((r, texts, scores, ids, emb) -> {
                    for (int i = 0; r.topTokens != null && i < r.topTokens.length; i++) {
                        r.topTokens[i] = ids.get(i);
                        r.topP[i] = scores.get(i);
                        if (r.topText != null) {
                            r.topText[i] = texts.get(i);
                        }
                    }
                    for (int c = 0; r.classProbs != null && c < r.classProbs.length; c++) {
                        r.classProbs[c] = scores.get(8 + c);
                        r.classLabels[c] = texts.get(5 + c);
                    }
                    if (emb) {
                        r.embedding = new float[] {scores.get(12), scores.get(13), scores.get(14), scores.get(15)};
                    }
                    return r;
                });
    }
}
