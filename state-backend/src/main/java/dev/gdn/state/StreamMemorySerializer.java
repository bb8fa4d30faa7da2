package dev.gdn.state;

import dev.gdn.kernels.model.ModelFingerprint;
import dev.gdn.kernels.model.StreamMemory;
import java.io.IOException;
import java.util.Objects;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Flink serializer of {@link StreamMemory} in the {@link StreamMemoryFormat}, bound to one model: its
 * memory layout and fingerprint.
 *
 * <p>A memory of another model is never written or read as if it were this model's: under
 * {@link ModelChangePolicy#FAIL} that is an error naming both fingerprints; under
 * {@link ModelChangePolicy#RESET} the stream starts afresh and the reset is logged and counted.
 */
public final class StreamMemorySerializer extends TypeSerializer<StreamMemory> {
    private static final long serialVersionUID = 1L;

    private final MemoryLayout layout;
    private final byte[] fingerprint;
    private final StorageDType storage;
    private final ModelChangePolicy onModelChange;

    /**
     * @param layout        the model's memory layout
     * @param fingerprint   the model's fingerprint
     * @param storage       how floats are stored (FP32 unless bf16 storage is opted into)
     * @param onModelChange what to do with memories of another model
     */
    public StreamMemorySerializer(MemoryLayout layout, ModelFingerprint fingerprint, StorageDType storage,
            ModelChangePolicy onModelChange) {
        this.layout = Objects.requireNonNull(layout, "layout");
        this.fingerprint = fingerprint.bytes();
        this.storage = Objects.requireNonNull(storage, "storage");
        this.onModelChange = Objects.requireNonNull(onModelChange, "onModelChange");
    }

    public MemoryLayout layout() {
        return layout;
    }

    public ModelFingerprint fingerprint() {
        return ModelFingerprint.of(fingerprint);
    }

    public StorageDType storage() {
        return storage;
    }

    public ModelChangePolicy onModelChange() {
        return onModelChange;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<StreamMemory> duplicate() {
        return this; // stateless: every buffer is per call
    }

    @Override
    public StreamMemory createInstance() {
        return layout.newMemory(fingerprint());
    }

    @Override
    public StreamMemory copy(StreamMemory from) {
        return from.copy();
    }

    @Override
    public StreamMemory copy(StreamMemory from, StreamMemory reuse) {
        return from.copy();
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(StreamMemory record, DataOutputView target) throws IOException {
        StreamMemoryFormat.write(bind(record), layout, storage, target);
    }

    @Override
    public StreamMemory deserialize(DataInputView source) throws IOException {
        return bind(StreamMemoryFormat.read(source, layout));
    }

    @Override
    public StreamMemory deserialize(StreamMemory reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        serialize(deserialize(source), target);
    }

    /**
     * This model's memory as is; another model's memory (restored from an older checkpoint) is refused
     * or, under {@link ModelChangePolicy#RESET}, replaced by a fresh one. The operator calls this on
     * every memory it reads from state.
     *
     * @throws MemoryFormatException naming both fingerprints under {@link ModelChangePolicy#FAIL}
     */
    public StreamMemory bind(StreamMemory m) {
        ModelFingerprint own = fingerprint();
        if (m.fingerprint().equals(own) && layout.matches(m)) {
            return m;
        }
        if (onModelChange == ModelChangePolicy.RESET) {
            MemoryResets.record(m.fingerprint(), own);
            return layout.newMemory(own);
        }
        if (m.fingerprint().equals(own)) {
            throw new MemoryFormatException("stream memory of model " + own.hex() + " does not have the model's "
                    + "memory layout: " + layout.mismatch(m).orElse("?"));
        }
        throw new MemoryFormatException("stream memory was computed by model " + m.fingerprint().hex()
                + ", this job's model is " + own.hex() + "; set the model-change policy to RESET to start such "
                + "streams afresh");
    }

    @Override
    public TypeSerializerSnapshot<StreamMemory> snapshotConfiguration() {
        return new StreamMemorySerializerSnapshot(this).withPolicy(onModelChange);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StreamMemorySerializer s && layout.equals(s.layout)
                && java.util.Arrays.equals(fingerprint, s.fingerprint) && storage == s.storage
                && onModelChange == s.onModelChange;
    }

    @Override
    public int hashCode() {
        return Objects.hash(layout, java.util.Arrays.hashCode(fingerprint), storage, onModelChange);
    }
}
