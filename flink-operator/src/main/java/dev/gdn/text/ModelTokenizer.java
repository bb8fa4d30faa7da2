package dev.gdn.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * A checkpoint folder's {@code tokenizer.json} (Hugging Face format) through DJL's binding of the
 * {@code tokenizers} library, whose native code ships inside its jar (no download). Text is encoded
 * without special tokens and without truncation: what the event says is what the stream sees.
 */
public final class ModelTokenizer implements AutoCloseable {
    /** The file a checkpoint folder keeps its tokenizer in. */
    public static final String FILE = "tokenizer.json";

    private final Path file;
    private final HuggingFaceTokenizer tokenizer;

    private ModelTokenizer(Path file, HuggingFaceTokenizer tokenizer) {
        this.file = file;
        this.tokenizer = tokenizer;
    }

    /**
     * The tokenizer of the checkpoint in {@code modelDir}, or empty when it has no {@value #FILE}.
     *
     * @throws IllegalStateException naming the file and the cause when it exists but cannot be loaded
     *     (not a tokenizer, or the native library cannot load on this platform)
     */
    public static Optional<ModelTokenizer> forModel(Path modelDir) {
        Path f = modelDir.resolve(FILE);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(f,
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
            return Optional.of(new ModelTokenizer(f, t));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException(f + " could not be loaded as a Hugging Face tokenizer: " + e.getMessage(), e);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new IllegalStateException(f + ": the tokenizers native library (DJL, bundled for linux and macOS on "
                    + "x86_64 and aarch64) did not load on " + System.getProperty("os.name") + "/"
                    + System.getProperty("os.arch") + ": " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    /** Token ids of {@code text}, no special tokens added. */
    public int[] encode(String text) {
        Encoding e = tokenizer.encode(text, false, false);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** The text of {@code ids} (special tokens kept). */
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return tokenizer.decode(l, false);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
