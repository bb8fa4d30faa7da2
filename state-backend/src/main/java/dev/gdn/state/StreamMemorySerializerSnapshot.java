package dev.gdn.state;

import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MemoryShape;
import dev.gdn.kernels.model.ModelFingerprint;
import dev.gdn.kernels.model.StreamMemory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * What a checkpoint records about the serializer of its stream memories: the model fingerprint, the
 * memory layout, the format version and the storage dtype.
 *
 * <p>Compatibility, decided when a job restores:
 * <ul>
 *   <li>same model, format version and dtype: compatible as is;</li>
 *   <li>same model, older format version or other dtype: compatible after migration (read with the
 *       restored serializer, rewritten in the current format);</li>
 *   <li>another model: an error naming both fingerprints, unless the new serializer's policy is
 *       {@link ModelChangePolicy#RESET}, in which case each stream starts afresh (logged, counted).</li>
 * </ul>
 * Snapshot version 1 (the preview) recorded only the fingerprint and the layout; it implies format
 * version 1 and fp32.
 */
public final class StreamMemorySerializerSnapshot implements TypeSerializerSnapshot<StreamMemory> {
    static final int VERSION = 2;

    private ModelFingerprint fingerprint;
    private MemoryLayout layout;
    private int formatVersion;
    private StorageDType storage;

    /** For Flink's reflective instantiation on restore. */
    public StreamMemorySerializerSnapshot() {
    }

    StreamMemorySerializerSnapshot(StreamMemorySerializer s) {
        this.fingerprint = s.fingerprint();
        this.layout = s.layout();
        this.formatVersion = StreamMemoryFormat.versionFor(s.layout());
        this.storage = s.storage();
    }

    public ModelFingerprint fingerprint() {
        return fingerprint;
    }

    public MemoryLayout layout() {
        return layout;
    }

    public int formatVersion() {
        return formatVersion;
    }

    public StorageDType storage() {
        return storage;
    }

    @Override
    public int getCurrentVersion() {
        return VERSION;
    }

    @Override
    public void writeSnapshot(DataOutputView out) throws IOException {
        out.write(fingerprint.bytes());
        out.writeInt(formatVersion);
        out.writeByte(storage.code());
        writeLayout(layout, out);
    }

    @Override
    public void readSnapshot(int readVersion, DataInputView in, ClassLoader userCodeClassLoader) throws IOException {
        byte[] fp = new byte[ModelFingerprint.BYTES];
        in.readFully(fp);
        fingerprint = ModelFingerprint.of(fp);
        switch (readVersion) {
            case 1 -> {
                formatVersion = 1;
                storage = StorageDType.FP32;
            }
            case 2 -> {
                formatVersion = in.readInt();
                storage = StorageDType.ofCode(in.readUnsignedByte());
            }
            default -> throw new IOException("stream memory serializer snapshot version " + readVersion
                    + " is not supported, expected 1 or 2");
        }
        layout = readLayout(in);
    }

    static void writeLayout(MemoryLayout layout, DataOutputView out) throws IOException {
        out.writeInt(layout.layers().size());
        for (MemoryShape l : layout.layers()) {
            out.writeByte(l.kindCode());
            for (int d : l.dims()) {
                out.writeInt(d);
            }
        }
    }

    static MemoryLayout readLayout(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 10_000) {
            throw new IOException("serializer snapshot declares " + n + " layers, expected 0..10000");
        }
        List<MemoryShape> layers = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int kind = in.readUnsignedByte();
            if (!LayerKinds.knows(kind)) {
                throw new IOException("serializer snapshot layer " + i + " has kind " + kind + ", expected one of "
                        + LayerKinds.all().stream().map(k -> k.code() + " (" + k.name() + ")").toList());
            }
            int dims = LayerKinds.byCode(kind).headerDims();
            List<Integer> d = new ArrayList<>(dims);
            for (int j = 0; j < dims; j++) {
                d.add(in.readInt());
            }
            layers.add(new MemoryShape(kind, d));
        }
        return new MemoryLayout(layers);
    }

    @Override
    public TypeSerializer<StreamMemory> restoreSerializer() {
        return new StreamMemorySerializer(layout, fingerprint, storage, ModelChangePolicy.FAIL);
    }

    @Override
    public TypeSerializerSchemaCompatibility<StreamMemory> resolveSchemaCompatibility(
            TypeSerializerSnapshot<StreamMemory> oldSnapshot) {
        if (!(oldSnapshot instanceof StreamMemorySerializerSnapshot old)) {
            return TypeSerializerSchemaCompatibility.incompatible();
        }
        if (!old.fingerprint.equals(fingerprint) || !old.layout.equals(layout)) {
            // the new serializer's policy decides; this snapshot was taken from it
            if (newPolicy == ModelChangePolicy.RESET) {
                return TypeSerializerSchemaCompatibility.compatibleAfterMigration();
            }
            throw new MemoryFormatException("this checkpoint's stream memories were computed by model "
                    + old.fingerprint.hex() + ", this job's model is " + fingerprint.hex()
                    + ": restore with the model that wrote it, or set the model-change policy to RESET to start "
                    + "those streams afresh");
        }
        if (old.formatVersion != formatVersion || old.storage != storage) {
            return TypeSerializerSchemaCompatibility.compatibleAfterMigration();
        }
        return TypeSerializerSchemaCompatibility.compatibleAsIs();
    }

    /** The policy of the serializer this snapshot was taken from (not persisted: a job setting). */
    private transient ModelChangePolicy newPolicy = ModelChangePolicy.FAIL;

    StreamMemorySerializerSnapshot withPolicy(ModelChangePolicy p) {
        this.newPolicy = p;
        return this;
    }
}
