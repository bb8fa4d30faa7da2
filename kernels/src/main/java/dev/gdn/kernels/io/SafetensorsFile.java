package dev.gdn.kernels.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A read-only, memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header
 * describing each tensor, then the raw little-endian data.
 *
 * <p>The header is validated before any data is touched: its size is capped at {@link #MAX_HEADER_BYTES}
 * and by the file size, every tensor's byte range lies inside the data section, ranges do not overlap,
 * and each range holds exactly {@code product(shape) * dtype size} bytes. A hostile or truncated file
 * therefore gives a {@link SafetensorsFormatException} naming the problem, never an
 * OutOfMemoryError. Tensor data is mapped lazily, one tensor at a time.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest header accepted (the safetensors format's own limit). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /**
     * Opens and validates a safetensors file.
     *
     * @throws SafetensorsFormatException when the file is missing, truncated or its header is invalid
     */
    public static SafetensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new SafetensorsFormatException(path + ": no such file");
        } catch (IOException e) {
            throw new SafetensorsFormatException(path + ": cannot open: " + e.getMessage(), e);
        }
        try {
            return read(path, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsFile read(Path path, FileChannel ch) {
        try {
            long size = ch.size();
            if (size < 8) {
                throw new SafetensorsFormatException(path + ": truncated: " + size
                        + " bytes, expected at least 8 for the header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
                throw new SafetensorsFormatException(path + ": header length " + headerLen
                        + " is outside [2, " + MAX_HEADER_BYTES + "]");
            }
            if (headerLen > size - 8) {
                throw new SafetensorsFormatException(path + ": truncated: header length " + headerLen
                        + " but only " + (size - 8) + " bytes follow");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            long dataStart = 8 + headerLen;
            long dataSize = size - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(path, header.array(), dataSize, metadata);
            return new SafetensorsFile(path, ch, dataStart, tensors, metadata);
        } catch (IOException e) {
            throw new SafetensorsFormatException(path + ": read failed: " + e.getMessage(), e);
        }
    }

    private static Map<String, TensorInfo> parseHeader(Path path, byte[] bytes, long dataSize,
            Map<String, String> metadata) {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(path + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new SafetensorsFormatException(path + ": header unreadable: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(path + ": header must be a JSON object");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode node = e.getValue();
            if (name.equals("__metadata__")) {
                if (!node.isObject()) {
                    throw new SafetensorsFormatException(path + ": __metadata__ must be an object of strings");
                }
                node.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            tensors.put(name, parseEntry(path, name, node, dataSize));
        }
        checkNoOverlap(path, tensors);
        return Collections.unmodifiableMap(tensors);
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode node, long dataSize) {
        String where = path + ": tensor '" + name + "'";
        if (!node.isObject()) {
            throw new SafetensorsFormatException(where + ": entry must be an object");
        }
        JsonNode dtypeNode = node.get("dtype");
        JsonNode shapeNode = node.get("shape");
        JsonNode offsetsNode = node.get("data_offsets");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafetensorsFormatException(where + ": missing string 'dtype'");
        }
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new SafetensorsFormatException(where + ": missing array 'shape'");
        }
        if (offsetsNode == null || !offsetsNode.isArray() || offsetsNode.size() != 2) {
            throw new SafetensorsFormatException(where + ": 'data_offsets' must be [begin, end]");
        }
        DType dtype = DType.parse(dtypeNode.asText(), name);
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw new SafetensorsFormatException(where + ": shape " + shapeNode
                        + " must hold non-negative integers");
            }
            shape[i] = d.asLong();
        }
        long begin = offset(where, offsetsNode.get(0));
        long end = offset(where, offsetsNode.get(1));
        if (begin > end || end > dataSize) {
            throw new SafetensorsFormatException(where + ": data_offsets [" + begin + ", " + end
                    + "] outside the data section of " + dataSize + " bytes");
        }
        long expectedBytes;
        try {
            long count = 1;
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            expectedBytes = Math.multiplyExact(count, (long) dtype.bytes());
        } catch (ArithmeticException ex) {
            throw new SafetensorsFormatException(where + ": shape " + shapeNode + " overflows");
        }
        if (expectedBytes != end - begin) {
            throw new SafetensorsFormatException(where + ": " + dtype + " " + shapeNode + " needs "
                    + expectedBytes + " bytes but data_offsets span " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long offset(String where, JsonNode n) {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 0) {
            throw new SafetensorsFormatException(where + ": data_offsets must be non-negative integers, found " + n);
        }
        return n.asLong();
    }

    private static void checkNoOverlap(Path path, Map<String, TensorInfo> tensors) {
        List<TensorInfo> sorted = new ArrayList<>(tensors.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.begin() == t.end()) {
                continue;
            }
            if (prev != null && t.begin() < prev.end()) {
                throw new SafetensorsFormatException(path + ": tensors '" + prev.name() + "' [" + prev.begin()
                        + ", " + prev.end() + ") and '" + t.name() + "' [" + t.begin() + ", " + t.end()
                        + ") overlap");
            }
            prev = t;
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor entries in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The optional {@code __metadata__} strings. */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /**
     * The header entry of a tensor.
     *
     * @throws SafetensorsFormatException naming the tensor when it is absent
     */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new SafetensorsFormatException(path + ": no tensor named '" + name + "'");
        }
        return t;
    }

    /** The raw little-endian bytes of a tensor, memory-mapped (read-only). */
    public ByteBuffer bytes(String name) {
        TensorInfo t = info(name);
        long len = t.end() - t.begin();
        if (len > Integer.MAX_VALUE - 8) {
            throw new SafetensorsFormatException(path + ": tensor '" + name + "' is " + len
                    + " bytes; at most 2 GiB per tensor is supported");
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), len)
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": mapping tensor '" + name + "' failed", e);
        }
    }

    /**
     * A floating tensor (F32, F16 or BF16) converted exactly to fp32, row-major.
     *
     * @throws SafetensorsFormatException when the tensor is missing or not floating
     */
    public float[] floats(String name) {
        TensorInfo t = info(name);
        if (!t.dtype().isFloating()) {
            throw new SafetensorsFormatException(path + ": tensor '" + name + "' is " + t.dtype()
                    + ", expected F32, F16 or BF16");
        }
        ByteBuffer b = bytes(name);
        int n = Math.toIntExact(t.elementCount());
        float[] out = new float[n];
        switch (t.dtype()) {
            case F32 -> b.asFloatBuffer().get(out);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.bf16ToFloat(b.getShort(2 * i));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.f16ToFloat(b.getShort(2 * i));
                }
            }
            default -> throw new IllegalStateException(t.dtype().name());
        }
        return out;
    }

    /**
     * An integer tensor (I32 or I64) as ints.
     *
     * @throws SafetensorsFormatException when missing, not integer, or a value does not fit an int
     */
    public int[] ints(String name) {
        TensorInfo t = info(name);
        if (!t.dtype().isReadableInteger()) {
            throw new SafetensorsFormatException(path + ": tensor '" + name + "' is " + t.dtype()
                    + ", expected I32 or I64");
        }
        ByteBuffer b = bytes(name);
        int n = Math.toIntExact(t.elementCount());
        int[] out = new int[n];
        if (t.dtype() == DType.I32) {
            b.asIntBuffer().get(out);
        } else {
            for (int i = 0; i < n; i++) {
                long v = b.getLong(8 * i);
                if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                    throw new SafetensorsFormatException(path + ": tensor '" + name + "' element " + i
                            + " = " + v + " does not fit in an int");
                }
                out[i] = (int) v;
            }
        }
        return out;
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new SafetensorsFormatException("unexpected end of file");
            }
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing was written; a failed close of a read-only channel loses nothing
        }
    }
}
