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
 * declared sizes, never return a wrong memory. Every failure is a {@link MemoryFormatException}. Each
 * property runs on an H1 memory (Gated DeltaNet + attention, format version 3) and on an H2 memory
 * (Mamba2 + Gated DeltaNet + attention, version 4).
 */
class DeserializerFuzzProperties {
    static final GatedDeltaNetModel[] MODELS = {TestModels.model("h1-swa"), TestModels.model("h2-tiny")};
    static final StreamMemorySerializer[] SERIALIZERS = new StreamMemorySerializer[2];
    static final StreamMemory[] VALID = new StreamMemory[2];
    static final byte[][] VALID_BYTES = new byte[2][];

    static {
        for (int i = 0; i < 2; i++) {
            SERIALIZERS[i] = TestModels.serializer(MODELS[i], StorageDType.FP32, ModelChangePolicy.FAIL);
            VALID[i] = TestModels.memoryAfter(MODELS[i], 19, 9);
            DataOutputSerializer out = new DataOutputSerializer(1 << 16);
            try {
                SERIALIZERS[i].serialize(VALID[i], out);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            VALID_BYTES[i] = out.getCopyOfBuffer();
        }
    }

    static StreamMemory read(int model, byte[] b) throws IOException {
        return SERIALIZERS[model].deserialize(new DataInputDeserializer(b));
    }

    static int model(boolean h2) {
        return h2 ? 1 : 0;
    }

    @Property(tries = 300)
    void randomBytesAreRejected(@ForAll @Size(max = 4096) byte[] bytes, @ForAll boolean h2) {
        assertThatThrownBy(() -> read(model(h2), bytes)).isInstanceOf(MemoryFormatException.class);
    }

    @Property(tries = 300)
    void randomBytesAfterAValidHeaderStartAreRejected(@ForAll @Size(max = 2048) byte[] tail, @ForAll boolean h2) {
        byte[] b = Arrays.copyOf(VALID_BYTES[model(h2)], 6 + tail.length);
        System.arraycopy(tail, 0, b, 6, tail.length);
        assertThatThrownBy(() -> read(model(h2), b)).isInstanceOf(MemoryFormatException.class);
    }

    @Property(tries = 500)
    void mutationsAreDetectedOrHarmless(@ForAll @IntRange(min = 1, max = 8) int flips, @ForAll long seed,
            @ForAll boolean h2) throws IOException {
        java.util.Random r = new java.util.Random(seed);
        int i = model(h2);
        byte[] b = VALID_BYTES[i].clone();
        for (int f = 0; f < flips; f++) {
            b[r.nextInt(b.length)] ^= (byte) (1 + r.nextInt(255));
        }
        StreamMemory m;
        try {
            m = read(i, b);
        } catch (MemoryFormatException e) {
            return;
        }
        // only a mutation that cancelled itself out may pass, and then the memory is the original
        assertThat(b).isEqualTo(VALID_BYTES[i]);
        assertThat(m).isEqualTo(VALID[i]);
    }

    @Property(tries = 200)
    void truncationsAreRejected(@ForAll @IntRange(min = 0, max = 300_000) int cut, @ForAll boolean h2) {
        int i = model(h2);
        int n = Math.min(cut, VALID_BYTES[i].length - 1);
        byte[] b = Arrays.copyOf(VALID_BYTES[i], n);
        assertThatThrownBy(() -> read(i, b)).isInstanceOf(MemoryFormatException.class);
    }
}
