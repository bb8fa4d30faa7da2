package dev.gdn.job;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.util.FileUtils;
import org.apache.flink.util.ShutdownHookUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A temporary folder that is gone when the JVM ends, however it ends short of a SIGKILL: deleted with
 * everything in it by {@link #close}, or else by a shutdown hook (Ctrl-C, SIGTERM, {@code System.exit}).
 * {@link java.io.File#deleteOnExit} cannot do this: it deletes a folder only when it is empty.
 */
public final class ScratchDir implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ScratchDir.class);

    private final Path path;
    private final Thread hook;

    private ScratchDir(Path path) {
        this.path = path;
        this.hook = ShutdownHookUtil.addShutdownHook(this::delete, "delete " + path, LOG);
    }

    /** A new folder under the system's temporary folder, its name starting with {@code prefix}. */
    public static ScratchDir create(String prefix) throws IOException {
        return new ScratchDir(Files.createTempDirectory(prefix));
    }

    public Path path() {
        return path;
    }

    private void delete() {
        FileUtils.deleteDirectoryQuietly(path.toFile());
    }

    /** Deletes the folder and everything in it now. */
    @Override
    public void close() {
        delete();
        ShutdownHookUtil.removeShutdownHook(hook, "delete " + path, LOG);
    }
}
