package dev.gdn.head;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gdn.kernels.head.SoftmaxRegression;
import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.io.SafetensorsWriter;
import dev.gdn.kernels.io.TensorInfo;
import dev.gdn.kernels.io.WeightSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Writes a model with a classification head: a new checkpoint folder with the base model's files, its
 * weights copied byte for byte into one {@code model.safetensors} beside {@code score.weight [C, D]} and
 * {@code score.bias [C]} (fp32), and {@code id2label}/{@code label2id} in {@code config.json}. A head the
 * base model already had is replaced. The job loads the folder as any model and emits {@code label} and
 * {@code probs}; the head does not change the model's fingerprint, so memories stored with the base model
 * carry over.
 */
public final class HeadCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> WEIGHT_FILES = List.of("model.safetensors", "model.safetensors.index.json");

    private HeadCheckpoint() {
    }

    /**
     * Refuses {@code out} when it is {@code model} or exists and is not an empty folder: checked before a fit
     * (which may take minutes) as well as when writing.
     */
    public static void checkTarget(Path model, Path out) throws IOException {
        if (Files.exists(out) && Files.isSameFile(model, out)) {
            throw new IllegalArgumentException("--out " + out + " is the --model folder: write the model with its head "
                    + "to a new folder");
        }
        if (Files.exists(out)) {
            if (!Files.isDirectory(out)) {
                throw new IllegalArgumentException("--out " + out + " exists and is not a folder");
            }
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) {
                    throw new IllegalArgumentException("--out " + out + " is not empty: write the model with its head "
                            + "to a new folder");
                }
            }
        }
    }

    /**
     * @throws IllegalArgumentException when {@code out} is {@code model} or a non-empty folder, or the head's
     *                                  width is not the model's hidden size
     */
    public static void write(Path model, Path out, List<String> classes, SoftmaxRegression.Head head, int hiddenSize)
            throws IOException {
        if (head.dim() != hiddenSize || head.classes() != classes.size()) {
            throw new IllegalArgumentException("a head of " + head.classes() + " classes x " + head.dim()
                    + " features does not fit a model of hidden size " + hiddenSize + " with " + classes.size()
                    + " classes");
        }
        checkTarget(model, out);
        Files.createDirectories(out);
        try (Stream<Path> s = Files.list(model)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                boolean shard = name.endsWith(".safetensors");
                if (Files.isRegularFile(p) && !name.equals("config.json") && !WEIGHT_FILES.contains(name) && !shard) {
                    Files.copy(p, out.resolve(name));
                }
            }
        }
        SafetensorsWriter w = new SafetensorsWriter();
        try (WeightSource src = WeightSource.open(model)) {
            for (String name : src.names()) {
                if (name.equals("score.weight") || name.equals("score.bias")) {
                    continue;
                }
                TensorInfo t = src.info(name);
                w.addStored(name, t.dtype(), t.shape(), src.bytes(name));
            }
            Path single = model.resolve("model.safetensors");
            if (Files.isRegularFile(single)) {
                try (SafetensorsFile f = SafetensorsFile.open(single)) {
                    f.metadata().forEach(w::metadata);
                }
            }
        }
        w.addF32("score.weight", head.weight(), classes.size(), hiddenSize);
        w.addF32("score.bias", head.bias(), classes.size());
        w.write(out.resolve("model.safetensors"));
        ObjectNode config = (ObjectNode) JSON.readTree(model.resolve("config.json").toFile());
        ObjectNode id2label = config.putObject("id2label");
        ObjectNode label2id = config.putObject("label2id");
        for (int i = 0; i < classes.size(); i++) {
            id2label.put(Integer.toString(i), classes.get(i));
            label2id.put(classes.get(i), i);
        }
        config.remove("num_labels");
        JSON.writerWithDefaultPrettyPrinter().writeValue(out.resolve("config.json").toFile(), config);
    }
}
