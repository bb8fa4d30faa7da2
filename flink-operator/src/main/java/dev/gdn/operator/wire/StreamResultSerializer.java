package dev.gdn.operator.wire;

import dev.gdn.operator.StreamResult;
import java.io.IOException;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * {@link StreamResult} between tasks, every field written in turn. A result is never changed once emitted,
 * so a chained hand-off ({@link #copy}) passes the object itself instead of a deep copy.
 */
public final class StreamResultSerializer extends ImmutableSerializer<StreamResult> {
    private static final long serialVersionUID = 1L;
    public static final StreamResultSerializer INSTANCE = new StreamResultSerializer();
    private static final StreamResult.Kind[] KINDS = StreamResult.Kind.values();

    @Override
    public StreamResult createInstance() {
        return new StreamResult();
    }

    @Override
    public void serialize(StreamResult r, DataOutputView out) throws IOException {
        Wire.string(r.stream, out);
        out.writeByte(r.kind == null ? -1 : r.kind.ordinal());
        Wire.string(r.id, out);
        out.writeInt(r.tokens);
        out.writeLong(r.tokensConsumed);
        out.writeFloat(r.nll);
        Wire.ints(r.topTokens, out);
        Wire.floats(r.topP, out);
        Wire.strings(r.topText, out);
        Wire.floats(r.classProbs, out);
        Wire.strings(r.classLabels, out);
        Wire.floats(r.embedding, out);
        Wire.string(r.control, out);
        Wire.ints(r.generated, out);
        Wire.string(r.text, out);
        Wire.string(r.stop, out);
        Wire.string(r.error, out);
    }

    @Override
    public StreamResult deserialize(DataInputView in) throws IOException {
        StreamResult r = new StreamResult();
        r.stream = Wire.string(in);
        int kind = in.readByte();
        if (kind < -1 || kind >= KINDS.length) {
            throw new IOException("result kind " + kind + ", expected -1 (none) or 0.." + (KINDS.length - 1));
        }
        r.kind = kind < 0 ? null : KINDS[kind];
        r.id = Wire.string(in);
        r.tokens = in.readInt();
        r.tokensConsumed = in.readLong();
        r.nll = in.readFloat();
        r.topTokens = Wire.ints(in);
        r.topP = Wire.floats(in);
        r.topText = Wire.strings(in);
        r.classProbs = Wire.floats(in);
        r.classLabels = Wire.strings(in);
        r.embedding = Wire.floats(in);
        r.control = Wire.string(in);
        r.generated = Wire.ints(in);
        r.text = Wire.string(in);
        r.stop = Wire.string(in);
        r.error = Wire.string(in);
        return r;
    }

    @Override
    public TypeSerializerSnapshot<StreamResult> snapshotConfiguration() {
        return new Snapshot();
    }

    /** The format has no parameters: version 1 of this serializer. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<StreamResult> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }

    /** {@link StreamResult}'s type information: this serializer, for the job's streams of it. */
    public static final TypeInformation<StreamResult> TYPE = new SingletonTypeInfo<>(StreamResult.class, INSTANCE);
}
