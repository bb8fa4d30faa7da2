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
 *
 * <p>A JVM may load a native library into one class loader only, and Flink loads a job's classes anew
 * on every restart: the first class loader of a JVM loads the library from DJL's cache directory, every
 * later one from a copy of its own (see {@link NativeLibrary}).
 */
public final class ModelTokenizer implements AutoCloseable {
    /** The file a checkpoint folder keeps its tokenizer in. */
    public static final String FILE = "tokenizer.json";

    /** Loads the tokenizers' native library into this class loader, once. */
    private static final class NativeLibrary {
        /** Set, JVM-wide, once a class loader holds the library at DJL's default path. */
        private static final String LOADED = "gdn.tokenizers.native-loaded";
        static final Throwable FAILURE = load();

        private static Throwable load() {
            // String.class is the same object for every class loader: one lock for the whole JVM
            synchronized (String.class) {
                try {
                    if (System.getProperty(LOADED) != null) {
                        // this class loader's own copy of the library: deleted with the JVM
                        Path own = dev.gdn.job.ScratchDir.create("gdn-tokenizers-").path();
                        System.setProperty("ENGINE_CACHE_DIR", own.toString());
                    }
                    Class.forName("ai.djl.huggingface.tokenizers.jni.LibUtils", true,
                            NativeLibrary.class.getClassLoader());
                    System.setProperty(LOADED, "true");
                    return null;
                } catch (IOException | ReflectiveOperationException | LinkageError e) {
                    return e instanceof ExceptionInInitializerError x && x.getCause() != null ? x.getCause() : e;
                }
            }
        }
    }

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
        if (!Files.exists(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        if (!Files.isRegularFile(f)) {
            throw new IllegalStateException(f + " is not a readable file (a broken or looping link, or a folder): "
                    + "expected the model's Hugging Face tokenizer, or no file of that name");
        }
        if (NativeLibrary.FAILURE != null) {
            throw nativeFailure(f, NativeLibrary.FAILURE);
        }
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(f,
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
            return Optional.of(new ModelTokenizer(f, t));
        } catch (IOException | RuntimeException e) {
            // no cause attached: the one-line root cause of a failure must be this line, which names the file
            throw new IllegalStateException(f + " could not be loaded as a Hugging Face tokenizer: " + e.getMessage());
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw nativeFailure(f, e);
        }
    }

    private static IllegalStateException nativeFailure(Path f, Throwable cause) {
        return new IllegalStateException(f + ": the tokenizers native library (DJL, bundled for Linux and macOS on "
                + "x86_64 and aarch64) did not load on " + System.getProperty("os.name") + "/"
                + System.getProperty("os.arch") + ": " + cause, cause);
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

    /** {@link #decode}, or empty when the tokenizer cannot decode {@code ids} (an id it does not know). */
    public Optional<String> tryDecode(int[] ids) {
        try {
            return Optional.of(decode(ids));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
