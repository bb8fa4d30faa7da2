package dev.gdn.state;

import dev.gdn.kernels.model.StreamMemory;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;
import org.apache.flink.core.memory.DataOutputView;

/** Writers of the version-1 (preview) format and serializer snapshot, kept to test migration. */
final class LegacyFormatV1 {
    private LegacyFormatV1() {
    }

    static void writeMemory(StreamMemory m, MemoryLayout layout, DataOutputStream out) throws IOException {
        out.writeInt(StreamMemoryFormat.MAGIC);
        out.writeShort(1);
        out.write(m.fingerprint().bytes());
        out.writeLong(m.tokensConsumed());
        out.writeShort(m.layerCount());
        ByteBuffer h = ByteBuffer.allocate(StreamMemoryFormat.layerHeaderBytes(layout));
        for (int i = 0; i < m.layerCount(); i++) {
            StreamMemoryFormat.putLayerHeader(h, layout.layers().get(i), m.layer(i));
        }
        out.write(h.array(), 0, h.position());
        CRC32 crc = new CRC32();
        for (int i = 0; i < m.layerCount(); i++) {
            for (float[] a : StreamMemoryFormat.payloadArrays(m.layer(i))) {
                ByteBuffer b = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(a);
                crc.update(b.array());
                out.write(b.array());
            }
        }
        out.writeInt((int) crc.getValue());
    }

    /** The body of a version-1 serializer snapshot: fingerprint and layout. */
    static void writeSnapshot(StreamMemorySerializerSnapshot current, DataOutputView out) throws IOException {
        out.write(current.fingerprint().bytes());
        StreamMemorySerializerSnapshot.writeLayout(current.layout(), out);
    }
}
