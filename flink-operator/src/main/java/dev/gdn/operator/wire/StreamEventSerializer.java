package dev.gdn.operator.wire;

import dev.gdn.operator.GenerateSpec;
import dev.gdn.operator.StreamEvent;
import java.io.IOException;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * {@link StreamEvent} between tasks (parsed events travel to the operator keyed by stream), every field
 * written in turn. An event is never changed once parsed, so a chained hand-off passes the object itself.
 */
public final class StreamEventSerializer extends ImmutableSerializer<StreamEvent> {
    private static final long serialVersionUID = 1L;
    public static final StreamEventSerializer INSTANCE = new StreamEventSerializer();

    @Override
    public StreamEvent createInstance() {
        return new StreamEvent();
    }

    @Override
    public void serialize(StreamEvent e, DataOutputView out) throws IOException {
        Wire.string(e.stream, out);
        Wire.string(e.id, out);
        Wire.ints(e.tokens, out);
        out.writeBoolean(e.reset);
        GenerateSpec g = e.generate;
        out.writeBoolean(g != null);
        if (g != null) {
            Wire.ints(g.prompt, out);
            out.writeInt(g.maxTokens);
            out.writeDouble(g.temperature);
            out.writeInt(g.topK);
            out.writeDouble(g.topP);
            out.writeLong(g.seed);
            out.writeInt(g.stop == null ? -1 : g.stop.length);
            if (g.stop != null) {
                for (int[] s : g.stop) {
                    Wire.ints(s, out);
                }
            }
        }
    }

    @Override
    public StreamEvent deserialize(DataInputView in) throws IOException {
        StreamEvent e = new StreamEvent();
        e.stream = Wire.string(in);
        e.id = Wire.string(in);
        e.tokens = Wire.ints(in);
        e.reset = in.readBoolean();
        if (in.readBoolean()) {
            GenerateSpec g = new GenerateSpec();
            g.prompt = Wire.ints(in);
            g.maxTokens = in.readInt();
            g.temperature = in.readDouble();
            g.topK = in.readInt();
            g.topP = in.readDouble();
            g.seed = in.readLong();
            int stops = in.readInt();
            if (stops < -1) {
                throw new IOException("a generate event with " + stops + " stop sequences (expected -1 for none, or >= 0)");
            }
            if (stops >= 0) {
                g.stop = new int[stops][];
                for (int i = 0; i < stops; i++) {
                    g.stop[i] = Wire.ints(in);
                }
            }
            e.generate = g;
        }
        return e;
    }

    @Override
    public TypeSerializerSnapshot<StreamEvent> snapshotConfiguration() {
        return new Snapshot();
    }

    /** The format has no parameters: version 1 of this serializer. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<StreamEvent> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }

    /** {@link StreamEvent}'s type information: this serializer, for the job's streams of it. */
    public static final TypeInformation<StreamEvent> TYPE = new SingletonTypeInfo<>(StreamEvent.class, INSTANCE);
}
