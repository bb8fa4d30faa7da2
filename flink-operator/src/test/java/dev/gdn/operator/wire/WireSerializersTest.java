package dev.gdn.operator.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.operator.GenerateSpec;
import dev.gdn.operator.StreamEvent;
import dev.gdn.operator.StreamResult;
import java.io.IOException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Example;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/** Events and results between tasks: every field back as it was, nulls included; snapshots that restore. */
class WireSerializersTest {

    static <T> T roundTrip(TypeSerializer<T> s, T value) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        s.serialize(value, out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        T back = s.deserialize(in);
        assertThat(in.available()).as("bytes left after the value").isZero();
        return back;
    }

    @Property(tries = 300)
    void everyEventComesBackFieldForField(@ForAll("events") StreamEvent e) throws IOException {
        StreamEvent back = roundTrip(StreamEventSerializer.INSTANCE, e);
        assertThat(back).usingRecursiveComparison().isEqualTo(e);
        assertThat(back).isEqualTo(e);
    }

    @Property(tries = 300)
    void everyResultComesBackFieldForField(@ForAll("results") StreamResult r) throws IOException {
        StreamResult back = roundTrip(StreamResultSerializer.INSTANCE, r);
        // every NaN reads back as the canonical one (Float.compare holds all NaNs equal, and nothing else)
        assertThat(back).usingRecursiveComparison().withComparatorForType(Float::compare, Float.class).isEqualTo(r);
    }

    @Example
    void theTypesGiveTheirSerializers() {
        SerializerConfigImpl config = new SerializerConfigImpl();
        assertThat(StreamEventSerializer.TYPE.createSerializer(config)).isSameAs(StreamEventSerializer.INSTANCE);
        assertThat(StreamResultSerializer.TYPE.createSerializer(config)).isSameAs(StreamResultSerializer.INSTANCE);
        assertThat(StreamEventSerializer.TYPE.getTypeClass()).isEqualTo(StreamEvent.class);
    }

    @Example
    void aChainedHandOffPassesTheObjectItself() {
        StreamResult r = StreamResult.error("s", "e", "why");
        assertThat(StreamResultSerializer.INSTANCE.copy(r)).isSameAs(r);
        StreamEvent e = new StreamEvent("s", "e", new int[] {1}, false);
        assertThat(StreamEventSerializer.INSTANCE.copy(e)).isSameAs(e);
    }

    @Example
    void aSnapshotWrittenAndReadBackRestoresACompatibleSerializer() throws IOException {
        for (TypeSerializer<?> s : new TypeSerializer<?>[] {StreamEventSerializer.INSTANCE, StreamResultSerializer.INSTANCE}) {
            assertRestores(s);
        }
    }

    private static <T> void assertRestores(TypeSerializer<T> s) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, s.snapshotConfiguration());
        TypeSerializerSnapshot<T> read = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), WireSerializersTest.class.getClassLoader());
        assertThat(read.restoreSerializer()).isSameAs(s);
        assertThat(s.snapshotConfiguration().resolveSchemaCompatibility(read).isCompatibleAsIs()).isTrue();
    }

    @Example
    void aCorruptKindIsRefusedNamingTheValue() throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        StreamResultSerializer.INSTANCE.serialize(StreamResult.reset("s", null), out);
        byte[] b = out.getCopyOfBuffer();
        b[2] = 42; // "s" is written as 2 bytes (length + char), then the kind
        assertThatThrownBy(() -> StreamResultSerializer.INSTANCE.deserialize(new DataInputDeserializer(b)))
                .isInstanceOf(IOException.class).hasMessageContaining("result kind 42");
    }

    @Provide
    Arbitrary<StreamEvent> events() {
        Arbitrary<String> text = Arbitraries.strings().ofMaxLength(12).injectNull(0.2);
        Arbitrary<int[]> ints = Arbitraries.integers().array(int[].class).ofMaxSize(8);
        Arbitrary<GenerateSpec> spec = Combinators.combine(ints.injectNull(0.2), Arbitraries.integers().between(0, 500),
                Arbitraries.doubles(), Arbitraries.integers(), Arbitraries.doubles(), Arbitraries.longs(),
                ints.array(int[][].class).ofMaxSize(3).injectNull(0.3))
                .as(GenerateSpec::new).injectNull(0.6);
        return Combinators.combine(Arbitraries.strings().ofMaxLength(20), text, ints.injectNull(0.1),
                Arbitraries.of(true, false), spec).as((s, id, t, reset, g) -> {
                    StreamEvent e = new StreamEvent(s, id, t, reset);
                    e.generate = g;
                    return e;
                });
    }

    @Provide
    Arbitrary<StreamResult> results() {
        Arbitrary<String> text = Arbitraries.strings().ofMaxLength(12).injectNull(0.3);
        Arbitrary<int[]> ints = Arbitraries.integers().array(int[].class).ofMaxSize(6).injectNull(0.3);
        Arbitrary<float[]> floats = Arbitraries.floats().array(float[].class).ofMaxSize(6).injectNull(0.3);
        // top k and class heads of matching lengths, as the operator makes them
        Arbitrary<StreamResult> scores = Combinators.combine(Arbitraries.strings().ofMaxLength(10), text,
                Arbitraries.integers(), Arbitraries.longs(), Arbitraries.floats(), Arbitraries.integers().between(-1, 5),
                Arbitraries.of(-1, 1, 2, 3, 4), Arbitraries.of(true, false)).as((s, id, n, c, nll, k, classes,
                        texts) -> StreamResult.event(s, id, n, c, nll, k < 0 ? null : new int[k],
                                k < 0 ? null : new float[k], k < 0 || !texts ? null : new String[k],
                                classes < 0 ? null : new float[classes], classes < 0 ? null : new String[classes], null));
        Arbitrary<StreamResult> filled = Combinators.combine(scores, Arbitraries.randomValue(r -> r), floats)
                .as((r, random, embedding) -> {
                    fill(r.topTokens, random);
                    fill(r.topP, random);
                    fill(r.topText, random, true);
                    fill(r.classProbs, random);
                    fill(r.classLabels, random, false);
                    r.embedding = embedding;
                    return r;
                });
        Arbitrary<StreamResult> generated = Combinators.combine(Arbitraries.strings().ofMaxLength(10), text,
                Arbitraries.of(StreamResult.Kind.GENERATE, StreamResult.Kind.SUMMARY), text, Arbitraries.longs(),
                Arbitraries.integers().array(int[].class).ofMaxSize(6),
                text, text).as((s, id, k, control, c, ids, stop, t) -> StreamResult.generated(s, k, id, control, c, ids,
                        stop, t));
        Arbitrary<StreamResult> others = Combinators.combine(Arbitraries.strings().ofMaxLength(10), text, text)
                .as((s, id, why) -> why == null ? StreamResult.reset(s, id) : StreamResult.error(s, id, why));
        return Arbitraries.oneOf(filled, generated, others);
    }

    private static void fill(int[] a, java.util.Random r) {
        if (a != null) {
            for (int i = 0; i < a.length; i++) {
                a[i] = r.nextInt();
            }
        }
    }

    private static void fill(float[] a, java.util.Random r) {
        if (a != null) {
            for (int i = 0; i < a.length; i++) {
                a[i] = r.nextInt(10) == 0 ? Float.intBitsToFloat(r.nextInt()) : r.nextFloat();
            }
        }
    }

    private static void fill(String[] a, java.util.Random r, boolean nulls) {
        if (a != null) {
            for (int i = 0; i < a.length; i++) {
                a[i] = nulls && r.nextInt(5) == 0 ? null : Integer.toString(r.nextInt(), 36) + "\u00e9\ud83d\ude00";
            }
        }
    }
}
