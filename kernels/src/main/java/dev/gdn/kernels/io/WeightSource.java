package dev.gdn.kernels.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a checkpoint folder: {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json}.
 */
public final class WeightSource implements AutoCloseable {
    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byTensor;

    private WeightSource(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byTensor) {
        this.dir = dir;
        this.files = files;
        this.byTensor = byTensor;
    }

    /**
     * Opens the weights of a checkpoint folder.
     *
     * @throws SafetensorsFormatException when neither file exists or a file is invalid
     */
    public static WeightSource open(Path dir) {
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        try {
            if (Files.isRegularFile(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                files.add(f);
                f.tensors().keySet().forEach(n -> byTensor.put(n, f));
            } else if (Files.isRegularFile(index)) {
                JsonNode map = new ObjectMapper().readTree(index.toFile()).get("weight_map");
                if (map == null || !map.isObject()) {
                    throw new SafetensorsFormatException(index + ": missing object 'weight_map'");
                }
                Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
                for (var it = map.fields(); it.hasNext();) {
                    var e = it.next();
                    String shard = e.getValue().asText();
                    Path p = dir.resolve(shard).normalize();
                    if (!p.startsWith(dir.normalize())) {
                        throw new SafetensorsFormatException(index + ": shard '" + shard + "' is outside " + dir);
                    }
                    SafetensorsFile f = shards.computeIfAbsent(shard, s -> {
                        SafetensorsFile opened = SafetensorsFile.open(p);
                        files.add(opened);
                        return opened;
                    });
                    if (!f.contains(e.getKey())) {
                        throw new SafetensorsFormatException(index + ": tensor '" + e.getKey() + "' is not in " + shard);
                    }
                    byTensor.put(e.getKey(), f);
                }
            } else {
                throw new SafetensorsFormatException(dir + ": no model.safetensors or model.safetensors.index.json");
            }
        } catch (IOException e) {
            files.forEach(SafetensorsFile::close);
            throw new SafetensorsFormatException(index + ": unreadable: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
        return new WeightSource(dir, files, byTensor);
    }

    public Path dir() {
        return dir;
    }

    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    /** Names of all tensors, in file order. */
    public List<String> names() {
        return List.copyOf(byTensor.keySet());
    }

    /** The stored bytes of a tensor, as its file holds them (its dtype: {@link #info}). */
    public java.nio.ByteBuffer bytes(String name) {
        info(name);
        return byTensor.get(name).bytes(name);
    }

    public TensorInfo info(String name) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new SafetensorsFormatException(dir + ": missing tensor '" + name + "'");
        }
        return f.info(name);
    }

    /**
     * A floating tensor as fp32, checked against the expected shape and for non-finite values (a NaN or
     * infinite weight would turn every result and memory it touches into NaN).
     *
     * @throws SafetensorsFormatException naming the tensor, the shape found and the shape expected, or
     *     the first non-finite element
     */
    public float[] floats(String name, int... expectedShape) {
        TensorInfo t = info(name);
        if (!t.hasShape(expectedShape)) {
            throw new SafetensorsFormatException(dir + ": tensor '" + name + "' has shape " + t.shapeString()
                    + ", expected " + java.util.Arrays.toString(expectedShape) + " from config.json");
        }
        float[] values = byTensor.get(name).floats(name);
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                int bad = 0;
                for (int j = i; j < values.length; j++) {
                    bad += Float.isFinite(values[j]) ? 0 : 1;
                }
                throw new SafetensorsFormatException(dir + ": tensor '" + name + "' holds " + bad + " non-finite "
                        + "value(s), the first " + values[i] + " at flat index " + i + " (of " + values.length
                        + "): expected finite weights");
            }
        }
        return values;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
