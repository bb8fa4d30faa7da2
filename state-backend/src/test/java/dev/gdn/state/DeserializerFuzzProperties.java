package dev.gdn.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamMemory;
import java.io.IOException;
import java.util.Arrays;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/**
 * Fuzzing the deserializer: random bytes and mutated valid memories never hang, never allocate from
 * declared sizes, never return a wrong memory. Every failure is a {@link MemoryFormatException}.
 */
class DeserializerFuzzProperties {
    static final GatedDeltaNetModel MODEL = TestModels.model("h1-swa");
    static final StreamMemorySerializer SERIALIZER =
            TestModels.serializer(MODEL, StorageDType.FP32, ModelChangePolicy.FAIL);
    static final StreamMemory VALID = TestModels.memoryAfter(MODEL, 19, 9);
    static final byte[] VALID_BYTES;

    static {
        DataOutputSerializer out = new DataOutputSerializer(1 << 16);
        try {
            SERIALIZER.serialize(VALID, out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        VALID_BYTES = out.getCopyOfBuffer();
    }

    static StreamMemory read(byte[] b) throws IOException {
        return SERIALIZER.deserialize(new DataInputDeserializer(b));
    }

    @Property(tries = 300)
    void randomBytesAreRejected(@ForAll @Size(max = 4096) byte[] bytes) {
        assertThatThrownBy(() -> read(bytes)).isInstanceOf(MemoryFormatException.class);
    }

    @Property(tries = 300)
    void randomBytesAfterAValidHeaderStartAreRejected(@ForAll @Size(max = 2048) byte[] tail) {
        byte[] b = Arrays.copyOf(VALID_BYTES, 6 + tail.length);
        System.arraycopy(tail, 0, b, 6, tail.length);
        assertThatThrownBy(() -> read(b)).isInstanceOf(MemoryFormatException.class);
    }

    @Property(tries = 500)
    void mutationsAreDetectedOrHarmless(@ForAll @IntRange(min = 1, max = 8) int flips, @ForAll long seed)
            throws IOException {
        java.util.Random r = new java.util.Random(seed);
        byte[] b = VALID_BYTES.clone();
        for (int i = 0; i < flips; i++) {
            b[r.nextInt(b.length)] ^= (byte) (1 + r.nextInt(255));
        }
        StreamMemory m;
        try {
            m = read(b);
        } catch (MemoryFormatException e) {
            return;
        }
        // only a mutation that cancelled itself out may pass, and then the memory is the original
        assertThat(b).isEqualTo(VALID_BYTES);
        assertThat(m).isEqualTo(VALID);
    }

    @Property(tries = 200)
    void truncationsAreRejected(@ForAll @IntRange(min = 0, max = 100_000) int cut) {
        int n = Math.min(cut, VALID_BYTES.length - 1);
        byte[] b = Arrays.copyOf(VALID_BYTES, n);
        assertThatThrownBy(() -> read(b)).isInstanceOf(MemoryFormatException.class);
    }
}
