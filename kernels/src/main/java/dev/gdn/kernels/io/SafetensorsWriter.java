package dev.gdn.kernels.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes a safetensors file: fp32 and int32 tensors, or stored tensors of any dtype copied as they are. */
public final class SafetensorsWriter {
    private record Entry(String name, DType dtype, long[] shape, byte[] data) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds an fp32 tensor; {@code data.length} must equal the product of {@code shape}. */
    public SafetensorsWriter addF32(String name, float[] data, long... shape) {
        checkCount(name, data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        entries.add(new Entry(name, DType.F32, shape.clone(), b.array()));
        return this;
    }

    /** Adds an int32 tensor; {@code data.length} must equal the product of {@code shape}. */
    public SafetensorsWriter addI32(String name, int[] data, long... shape) {
        checkCount(name, data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(data);
        entries.add(new Entry(name, DType.I32, shape.clone(), b.array()));
        return this;
    }

    /**
     * Adds a tensor as stored bytes (copied from another file, any dtype); {@code data} must hold exactly
     * the product of {@code shape} elements of {@code dtype}.
     */
    public SafetensorsWriter addStored(String name, DType dtype, long[] shape, ByteBuffer data) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n * dtype.bytes() != data.remaining()) {
            throw new IllegalArgumentException("tensor '" + name + "': " + data.remaining() + " bytes for " + dtype
                    + " shape " + java.util.Arrays.toString(shape));
        }
        byte[] bytes = new byte[data.remaining()];
        data.duplicate().get(bytes);
        entries.add(new Entry(name, dtype, shape.clone(), bytes));
        return this;
    }

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Writes the file, replacing any existing one. */
    public void write(Path path) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode t = header.putObject(e.name());
            t.put("dtype", e.dtype().name());
            ArrayNode s = t.putArray("shape");
            for (long d : e.shape()) {
                s.add(d);
            }
            ArrayNode o = t.putArray("data_offsets");
            o.add(offset);
            offset += e.data().length;
            o.add(offset);
        }
        byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int pad = (8 - headerBytes.length % 8) % 8;
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        len.putLong(headerBytes.length + pad);
        try (OutputStream out = Files.newOutputStream(path)) {
            out.write(len.array());
            out.write(headerBytes);
            for (int i = 0; i < pad; i++) {
                out.write(' ');
            }
            for (Entry e : entries) {
                out.write(e.data());
            }
        }
    }

    private static void checkCount(String name, int length, long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != length) {
            throw new IllegalArgumentException("tensor '" + name + "': " + length + " values for shape "
                    + java.util.Arrays.toString(shape));
        }
    }
}
