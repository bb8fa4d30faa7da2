package dev.gdn.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamMemory;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The serializer and its snapshot: round trips through Flink's data views, snapshot persistence, and
 * compatibility resolution for the same model, an older format, another dtype and another model.
 */
@Timeout(120)
class StreamMemorySerializerTest {
    final GatedDeltaNetModel tiny = TestModels.model("gdn-tiny");
    final GatedDeltaNetModel gva = TestModels.model("gdn-gva-negeig");

    static byte[] serialize(TypeSerializer<StreamMemory> s, StreamMemory m) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(1024);
        s.serialize(m, out);
        return out.getCopyOfBuffer();
    }

    static StreamMemory deserialize(TypeSerializer<StreamMemory> s, byte[] b) throws IOException {
        return s.deserialize(new DataInputDeserializer(b));
    }

    /** Writes a snapshot the way Flink does and reads it back into a fresh instance. */
    static TypeSerializerSnapshot<StreamMemory> persist(TypeSerializerSnapshot<StreamMemory> snap) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snap);
        return TypeSerializerSnapshot.readVersionedSnapshot(new DataInputDeserializer(out.getCopyOfBuffer()),
                StreamMemorySerializerTest.class.getClassLoader());
    }

    /** The layers of {@code m}, as an arriving memory's copy delivers them. */
    static dev.gdn.kernels.model.LayerMemory[] layersOf(StreamMemory m) {
        dev.gdn.kernels.model.LayerMemory[] l = new dev.gdn.kernels.model.LayerMemory[m.layerCount()];
        for (int i = 0; i < l.length; i++) {
            l[i] = m.layer(i);
        }
        return l;
    }

    @Test
    void anArrivingMemoryIsSerializedOnceItsLayersArriveWithTheSameBytes() throws Exception {
        StreamMemorySerializer s = TestModels.serializer(tiny, StorageDType.FP32, ModelChangePolicy.FAIL);
        StreamMemory m = TestModels.memoryAfter(tiny, 12, 1);
        m.bindTo(42);
        m.setLastHidden(new float[tiny.config().hiddenSize()]);
        var layers = new java.util.concurrent.CompletableFuture<dev.gdn.kernels.model.LayerMemory[]>();
        StreamMemory arriving = StreamMemory.arriving(m.layerCount(), layers, m.tokensConsumed(), m.fingerprint());
        arriving.bindTo(42);
        arriving.setLastHidden(m.lastHidden());
        assertThat(arriving.isComplete()).isFalse();
        var serialized = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return serialize(s, arriving);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Thread.sleep(200);
        assertThat(serialized).as("the serializer waits for the layers").isNotDone();
        layers.complete(layersOf(m.copy()));
        assertThat(serialized.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(serialize(s, m));
        assertThat(arriving.isComplete()).isTrue();
        assertThat(s.copy(arriving)).isEqualTo(m);
    }

    @Test
    void anArrivingMemoryWhoseCopyFailedFailsItsSerializationWithTheCopysError() {
        StreamMemorySerializer s = TestModels.serializer(tiny, StorageDType.FP32, ModelChangePolicy.FAIL);
        var layers = new java.util.concurrent.CompletableFuture<dev.gdn.kernels.model.LayerMemory[]>();
        StreamMemory arriving = StreamMemory.arriving(tiny.config().numLayers(), layers, 3, tiny.fingerprint());
        layers.completeExceptionally(new IllegalStateException("CUDA error 700 in cuMemcpyDtoHAsync"));
        assertThatThrownBy(() -> serialize(s, arriving)).hasMessageContaining("never arrived")
                .hasMessageContaining("CUDA error 700 in cuMemcpyDtoHAsync");
    }

    @Test
    void roundTripsCopiesAndCreatesFreshMemories() throws IOException {
        StreamMemorySerializer s = TestModels.serializer(tiny, StorageDType.FP32, ModelChangePolicy.FAIL);
        StreamMemory m = TestModels.memoryAfter(tiny, 12, 1);
        assertThat(deserialize(s, serialize(s, m))).isEqualTo(m);
        StreamMemory copy = s.copy(m);
        assertThat(copy).isEqualTo(m).isNotSameAs(m);
        DataOutputSerializer out = new DataOutputSerializer(64);
        s.copy(new DataInputDeserializer(serialize(s, m)), out);
        assertThat(deserialize(s, out.getCopyOfBuffer())).isEqualTo(m);
        assertThat(s.createInstance()).isEqualTo(tiny.newMemory());
        assertThat(s.duplicate()).isEqualTo(s);
        assertThat(s.isImmutableType()).isFalse();
    }

    @Test
    void sameModelIsCompatibleAsIs() throws IOException {
        StreamMemorySerializer s = TestModels.serializer(tiny, StorageDType.FP32, ModelChangePolicy.FAIL);
        TypeSerializerSnapshot<StreamMemory> restored = persist(s.snapshotConfiguration());
        TypeSerializerSchemaCompatibility<StreamMemory> c =
                s.snapshotConfiguration().resolveSchemaCompatibility(restored);
        assertThat(c.isCompatibleAsIs()).isTrue();
        assertThat(restored.restoreSerializer()).isEqualTo(s);
    }

    @Test
    void otherStorageDtypeMigrates() throws IOException {
        StreamMemorySerializer bf16 = TestModels.serializer(tiny, StorageDType.BF16, ModelChangePolicy.FAIL);
        StreamMemorySerializer fp32 = TestModels.serializer(tiny, StorageDType.FP32, ModelChangePolicy.FAIL);
        TypeSerializerSnapshot<StreamMemory> old = persist(bf16.snapshotConfiguration());
        assertThat(fp32.snapshotConfiguration().resolveSchemaCompatibility(old).isCompatibleAfterMigration()).isTrue();
        StreamMemory m = TestModels.memoryAfter(tiny, 5, 2);
        StreamMemory read = deserialize(old.restoreSerializer(), serialize(bf16, m));
        assertThat(deserialize(fp32, serialize(fp32, read))).isEqualTo(read);
    }

    @Test
    void formatVersionOneMigratesToTheCurrentFormat() throws IOException {
        StreamMemorySerializer s = TestModels.serializer(tiny, StorageDType.FP32, ModelChangePolicy.FAIL);
        // a checkpoint of the preview release: snapshot version 1 and memories in format version 1
        DataOutputSerializer snapOut = new DataOutputSerializer(256);
        LegacyFormatV1.writeSnapshot((StreamMemorySerializerSnapshot) s.snapshotConfiguration(), snapOut);
        StreamMemorySerializerSnapshot v1 = new StreamMemorySerializerSnapshot();
        v1.readSnapshot(1, new DataInputDeserializer(snapOut.getCopyOfBuffer()), getClass().getClassLoader());
        assertThat(v1.formatVersion()).isEqualTo(1);

        assertThat(s.snapshotConfiguration().resolveSchemaCompatibility(v1).isCompatibleAfterMigration()).isTrue();

        StreamMemory m = TestModels.memoryAfter(tiny, 21, 3);
        ByteArrayOutputStream legacy = new ByteArrayOutputStream();
        LegacyFormatV1.writeMemory(m, TestModels.layout(tiny), new DataOutputStream(legacy));
        StreamMemory migrated = deserialize(v1.restoreSerializer(), legacy.toByteArray());
        assertThat(migrated).isEqualTo(m);
        byte[] rewritten = serialize(s, migrated);
        assertThat(java.nio.ByteBuffer.wrap(rewritten).getShort(4)).isEqualTo((short) StreamMemoryFormat.GDN_VERSION);
        assertThat(deserialize(s, rewritten)).isEqualTo(m);

        byte[] corrupt = legacy.toByteArray();
        corrupt[corrupt.length - 10] ^= 1;
        assertThatThrownBy(() -> deserialize(v1.restoreSerializer(), corrupt))
                .hasMessageContaining("stored CRC32");
    }

    @Test
    void anotherModelIsRefusedNamingBothFingerprints() throws IOException {
        StreamMemorySerializer old = TestModels.serializer(gva, StorageDType.FP32, ModelChangePolicy.FAIL);
        StreamMemorySerializer now = TestModels.serializer(tiny, StorageDType.FP32, ModelChangePolicy.FAIL);
        TypeSerializerSnapshot<StreamMemory> oldSnap = persist(old.snapshotConfiguration());
        assertThatThrownBy(() -> now.snapshotConfiguration().resolveSchemaCompatibility(oldSnap))
                .isInstanceOf(MemoryFormatException.class)
                .hasMessageContaining(gva.fingerprint().hex())
                .hasMessageContaining(tiny.fingerprint().hex());
        // and a foreign memory never passes through the serializer silently
        assertThatThrownBy(() -> serialize(now, gva.newMemory())).hasMessageContaining(gva.fingerprint().hex());
    }

    @Test
    void aMemoryOfThisModelWithoutItsLayoutIsRefusedSayingWhatDiffers() {
        StreamMemorySerializer s = TestModels.serializer(tiny, StorageDType.FP32, ModelChangePolicy.FAIL);
        StreamMemory layerless = new StreamMemory(new dev.gdn.kernels.model.LayerMemory[0], 5, tiny.fingerprint());
        assertThatThrownBy(() -> s.bind(layerless))
                .isInstanceOf(MemoryFormatException.class)
                .hasMessageContaining("does not have the model's memory layout")
                .hasMessageContaining("0 layers, expected " + tiny.config().numLayers());
    }

    @Test
    void anotherModelStartsAfreshUnderTheResetPolicy() throws IOException {
        StreamMemorySerializer old = TestModels.serializer(gva, StorageDType.FP32, ModelChangePolicy.FAIL);
        StreamMemorySerializer now = TestModels.serializer(tiny, StorageDType.FP32, ModelChangePolicy.RESET);
        TypeSerializerSnapshot<StreamMemory> oldSnap = persist(old.snapshotConfiguration());
        assertThat(now.snapshotConfiguration().resolveSchemaCompatibility(oldSnap).isCompatibleAfterMigration())
                .isTrue();
        StreamMemory foreign = deserialize(oldSnap.restoreSerializer(), serialize(old, TestModels.memoryAfter(gva, 4, 4)));
        long before = MemoryResets.count();
        StreamMemory fresh = deserialize(now, serialize(now, foreign));
        assertThat(fresh).isEqualTo(tiny.newMemory());
        assertThat(MemoryResets.count()).isEqualTo(before + 1);
    }
}
