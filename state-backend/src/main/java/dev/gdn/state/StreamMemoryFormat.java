package dev.gdn.state;

import dev.gdn.kernels.io.HalfFloats;
import dev.gdn.kernels.layers.MemoryShape;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.ModelFingerprint;
import dev.gdn.kernels.model.StreamMemory;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;

/**
 * The versioned binary format of one stream memory.
 *
 * <pre>
 * version 4 (current; written for memories with a Mamba2 layer, version 3 for all others so that
 *   earlier releases keep reading them): version 3 plus layer kind 2
 *            byte kind 2 (Mamba2):         int H, P, N, conv history, conv channels
 *            payload: SSM state [H,P,N], conv [Kc-1, channels]
 *
 * version 3
 *   int    magic 0x47444E4D ("GDNM")      big-endian, as every header integer
 *   short  version = 3
 *   byte   storage dtype (0 fp32, 1 bf16)
 *   byte   flags: bit 0 bound to a stream, bit 1 has a last hidden state; other bits 0
 *   byte[32] model fingerprint (SHA-256)
 *   long   tokens consumed
 *   long   stream digest                  (when bound)
 *   int    D, the last hidden state's size (when it has one; 1..65536)
 *   short  layer count, then per layer:
 *            byte kind 0 (Gated DeltaNet): int HV, K, V, conv history, q/k width, v width
 *            byte kind 1 (attention):      int window, row size; long position
 *   payload, per layer in order, little-endian floats in the storage dtype:
 *            Gated DeltaNet: state [HV,K,V], conv q [W-1,qk], conv k [W-1,qk], conv v [W-1,v]
 *            attention: keys [W,row], values [W,row] (ring slots as stored; keys unrotated)
 *   float[D] last hidden state, little-endian fp32 (when it has one)
 *   int    CRC32C of every byte after the version field
 *
 * version 2: as version 3 without stream digest, D and last hidden state (the flags byte was a
 *   reserved 0).
 *
 * version 1 (preview; read for migration only): no dtype or reserved byte, fp32 payload, and a
 *   CRC32 (not C) trailer over the payload alone.
 * </pre>
 *
 * Readers are given the expected {@link MemoryLayout}: declared shapes must equal it exactly, so
 * allocation sizes never come from the bytes being read. Any mismatch, truncation or checksum failure
 * is a {@link MemoryFormatException} saying what was found and what was expected.
 */
public final class StreamMemoryFormat {
    public static final int MAGIC = 0x47444E4D;
    public static final int CURRENT_VERSION = 4;
    /** The version written for memories without a Mamba2 layer. */
    public static final int GDN_VERSION = 3;
    /** Largest last hidden state a reader accepts (hidden sizes of real models are far below). */
    public static final int MAX_HIDDEN = 1 << 16;
    private static final int FLAG_BOUND = 1;
    private static final int FLAG_HIDDEN = 2;
    private static final int CHUNK_BYTES = 1 << 16;

    private StreamMemoryFormat() {
    }

    /**
     * Writes {@code m} in the current version.
     *
     * @throws IllegalArgumentException when {@code m} does not have the given layout
     */
    public static void write(StreamMemory m, MemoryLayout layout, StorageDType dtype, DataOutput out)
            throws IOException {
        if (!layout.matches(m)) {
            throw new IllegalArgumentException("memory does not have the layout " + layout);
        }
        CRC32C crc = new CRC32C();
        out.writeInt(MAGIC);
        out.writeShort(versionFor(layout));
        float[] hidden = m.lastHidden();
        if (hidden != null && (hidden.length == 0 || hidden.length > MAX_HIDDEN)) {
            throw new IllegalArgumentException("last hidden state of " + hidden.length + " floats, expected 1.." + MAX_HIDDEN);
        }
        int flags = (m.isBound() ? FLAG_BOUND : 0) | (hidden != null ? FLAG_HIDDEN : 0);
        ByteBuffer h = ByteBuffer.allocate(2 + ModelFingerprint.BYTES + 8 + 12 + 2 + layerHeaderBytes(layout));
        h.put((byte) dtype.code()).put((byte) flags).put(m.fingerprint().bytes()).putLong(m.tokensConsumed());
        if (m.isBound()) {
            h.putLong(m.streamDigest());
        }
        if (hidden != null) {
            h.putInt(hidden.length);
        }
        h.putShort((short) m.layerCount());
        for (int i = 0; i < m.layerCount(); i++) {
            putLayerHeader(h, layout.layers().get(i), m.layer(i));
        }
        crc.update(h.array(), 0, h.position());
        out.write(h.array(), 0, h.position());
        byte[] chunk = new byte[CHUNK_BYTES];
        for (int i = 0; i < m.layerCount(); i++) {
            for (float[] a : payloadArrays(m.layer(i))) {
                writeFloats(a, dtype, out, crc, chunk);
            }
        }
        if (hidden != null) {
            writeFloats(hidden, StorageDType.FP32, out, crc, chunk);
        }
        out.writeInt((int) crc.getValue());
    }

    /**
     * The version memories of this layout are written in: 4 with a Mamba2 layer, else 3 (so that a job
     * without Mamba2 layers keeps its checkpoints readable by earlier releases, and restores without a
     * state migration).
     */
    public static int versionFor(MemoryLayout layout) {
        return Math.max(GDN_VERSION, layout.formatVersion());
    }

    /** Bytes of the layer descriptors of {@code layout}. */
    static int layerHeaderBytes(MemoryLayout layout) {
        int n = 0;
        for (MemoryShape l : layout.layers()) {
            n += 1 + 4 * l.dims().size() + (l.kind().positioned() ? 8 : 0);
        }
        return n;
    }

    /** One layer's descriptor (identical in every version): kind code, the kind's dimensions, its position if it keeps one. */
    static void putLayerHeader(ByteBuffer h, MemoryShape layer, LayerMemory l) {
        h.put((byte) layer.kindCode());
        for (int d : layer.dims()) {
            h.putInt(d);
        }
        if (layer.kind().positioned()) {
            h.putLong(l.position());
        }
    }

    static float[][] payloadArrays(LayerMemory l) {
        return l.parts();
    }

    private static void writeFloats(float[] a, StorageDType dtype, DataOutput out, Checksum crc, byte[] chunk)
            throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
        int per = chunk.length / dtype.bytes();
        for (int i = 0; i < a.length; i += per) {
            int n = Math.min(per, a.length - i);
            bb.clear();
            if (dtype == StorageDType.FP32) {
                bb.asFloatBuffer().put(a, i, n);
            } else {
                for (int j = 0; j < n; j++) {
                    bb.putShort(2 * j, HalfFloats.floatToBf16(a[i + j]));
                }
            }
            int bytes = n * dtype.bytes();
            crc.update(chunk, 0, bytes);
            out.write(chunk, 0, bytes);
        }
    }

    /**
     * Reads one memory of the expected layout (version 1 or 2).
     *
     * @throws MemoryFormatException on a wrong magic, an unknown version, shapes other than
     *         {@code expected}, truncation or a checksum mismatch
     */
    public static StreamMemory read(DataInput in, MemoryLayout expected) throws IOException {
        try {
            int magic = in.readInt();
            if (magic != MAGIC) {
                throw new MemoryFormatException(String.format(
                        "not a stream memory: magic 0x%08X, expected 0x%08X (\"GDNM\")", magic, MAGIC));
            }
            int version = in.readUnsignedShort();
            return switch (version) {
                case 1 -> readBody(in, expected, 1);
                case 2 -> readBody(in, expected, 2);
                case 3 -> readBody(in, expected, 3);
                case 4 -> readBody(in, expected, 4);
                default -> throw new MemoryFormatException("stream memory format version " + version
                        + " is not supported, expected 1 to 4" + (version > CURRENT_VERSION
                                ? " (written by a newer release)" : ""));
            };
        } catch (EOFException e) {
            throw new MemoryFormatException("stream memory is truncated: the input ended before the memory did", e);
        } catch (MemoryFormatException e) {
            throw e;
        } catch (RuntimeException e) {
            // altered bytes that decode to impossible sizes or codes: say so, not which array overflowed
            throw new MemoryFormatException("stream memory is corrupt: its bytes decode to impossible values ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
        }
    }

    private static StreamMemory readBody(DataInput in, MemoryLayout expected, int version) throws IOException {
        Checksum headerCrc = new CRC32C();
        StorageDType dtype = StorageDType.FP32;
        int flags = 0;
        if (version >= 2) {
            int code = in.readUnsignedByte();
            flags = in.readUnsignedByte();
            headerCrc.update(code);
            headerCrc.update(flags);
            dtype = StorageDType.ofCode(code);
            int allowed = version >= 3 ? FLAG_BOUND | FLAG_HIDDEN : 0;
            if ((flags & ~allowed) != 0) {
                throw new MemoryFormatException(version >= 3 ? "flags byte is " + flags + ", expected bits 0 and 1 only"
                        : "reserved header byte is " + flags + ", expected 0");
            }
        }
        byte[] fp = new byte[ModelFingerprint.BYTES];
        in.readFully(fp);
        long tokens = in.readLong();
        long digest = (flags & FLAG_BOUND) != 0 ? in.readLong() : 0;
        int hiddenSize = (flags & FLAG_HIDDEN) != 0 ? in.readInt() : 0;
        int count = in.readUnsignedShort();
        ByteBuffer fixed = ByteBuffer.allocate(ModelFingerprint.BYTES + 22).put(fp).putLong(tokens);
        if ((flags & FLAG_BOUND) != 0) {
            fixed.putLong(digest);
        }
        if ((flags & FLAG_HIDDEN) != 0) {
            fixed.putInt(hiddenSize);
            if (hiddenSize < 1 || hiddenSize > MAX_HIDDEN) {
                throw new MemoryFormatException("last hidden state of " + hiddenSize + " floats, expected 1.." + MAX_HIDDEN);
            }
        }
        fixed.putShort((short) count);
        headerCrc.update(fixed.array(), 0, fixed.position());
        if (tokens < 0) {
            throw new MemoryFormatException("tokens consumed is " + tokens + ", expected >= 0");
        }
        if (count != expected.layers().size()) {
            throw new MemoryFormatException("memory has " + count + " layers, expected " + expected.layers().size()
                    + " " + expected);
        }
        long[] positions = new long[count];
        for (int i = 0; i < count; i++) {
            MemoryShape shape = expected.layers().get(i);
            if (version < shape.kind().formatVersion()) {
                throw new MemoryFormatException("layer " + i + " is expected to be " + shape + ", which format version "
                        + version + " cannot hold (" + shape.kind().name() + " layers need version "
                        + shape.kind().formatVersion() + ")");
            }
            positions[i] = readLayerHeader(in, expected.layers().get(i), i, headerCrc);
        }
        Checksum crc = version >= 2 ? headerCrc : new CRC32();
        byte[] chunk = new byte[CHUNK_BYTES];
        LayerMemory[] layers = new LayerMemory[count];
        for (int i = 0; i < count; i++) {
            MemoryShape l = expected.layers().get(i);
            long[] sizes = l.partFloats();
            float[][] parts = new float[sizes.length][];
            for (int p = 0; p < sizes.length; p++) {
                parts[p] = readFloats(in, Math.toIntExact(sizes[p]), dtype, crc, chunk);
            }
            layers[i] = l.kind().fromParts(l, parts, positions[i]);
        }
        float[] hidden = (flags & FLAG_HIDDEN) != 0 ? readFloats(in, hiddenSize, StorageDType.FP32, crc, chunk) : null;
        int stored = in.readInt();
        int computed = (int) crc.getValue();
        if (stored != computed) {
            throw new MemoryFormatException(String.format("stream memory is corrupt: stored %s 0x%08X, computed 0x%08X",
                    version >= 2 ? "CRC32C" : "CRC32", stored, computed));
        }
        StreamMemory m = new StreamMemory(layers, tokens, ModelFingerprint.of(fp));
        if ((flags & FLAG_BOUND) != 0) {
            m.bindTo(digest);
        }
        m.setLastHidden(hidden);
        return m;
    }

    /** Reads and checks one layer descriptor; returns its position (0 for a kind that keeps none). */
    private static long readLayerHeader(DataInput in, MemoryShape expected, int index, Checksum crc)
            throws IOException {
        int kind = in.readUnsignedByte();
        crc.update(kind);
        if (kind != expected.kindCode()) {
            throw new MemoryFormatException("layer " + index + " has kind " + kind + ", expected " + expected.kindCode()
                    + " (" + expected + ")");
        }
        int n = expected.kind().headerDims();
        boolean positioned = expected.kind().positioned();
        ByteBuffer b = ByteBuffer.allocate(4 * n + (positioned ? 8 : 0));
        for (int j = 0; j < n; j++) {
            b.putInt(in.readInt());
        }
        if (positioned) {
            b.putLong(in.readLong());
        }
        crc.update(b.array(), 0, b.capacity());
        b.flip();
        List<Integer> dims = new ArrayList<>(n);
        for (int j = 0; j < n; j++) {
            dims.add(b.getInt());
        }
        MemoryShape found = new MemoryShape(kind, dims);
        long position = positioned ? b.getLong() : 0;
        if (!found.equals(expected)) {
            throw new MemoryFormatException("layer " + index + " is " + found + ", expected " + expected);
        }
        if (position < 0) {
            throw new MemoryFormatException("layer " + index + " position is " + position + ", expected >= 0");
        }
        return position;
    }

    private static float[] readFloats(DataInput in, int n, StorageDType dtype, Checksum crc, byte[] chunk)
            throws IOException {
        float[] out = new float[n];
        ByteBuffer bb = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
        int per = chunk.length / dtype.bytes();
        for (int i = 0; i < n; i += per) {
            int m = Math.min(per, n - i);
            int bytes = m * dtype.bytes();
            in.readFully(chunk, 0, bytes);
            crc.update(chunk, 0, bytes);
            if (dtype == StorageDType.FP32) {
                bb.clear();
                bb.asFloatBuffer().get(out, i, m);
            } else {
                for (int j = 0; j < m; j++) {
                    out[i + j] = HalfFloats.bf16ToFloat(bb.getShort(2 * j));
                }
            }
        }
        return out;
    }
}
