package dev.gdn.run;

import dev.gdn.job.RootCause;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;

/**
 * Finding a savepoint or retained checkpoint from any folder a user may name.
 *
 * <p>The newest snapshot is the one with the highest checkpoint id that Flink recorded in its
 * {@code _metadata} (savepoints and checkpoints of one job, and of every job resumed from it, draw their
 * ids from one rising counter). File times and folder names are never trusted: a copy ({@code cp -r})
 * changes the first, and a rename the second.
 */
public final class Snapshots {
    private Snapshots() {
    }

    /** A complete snapshot: its folder and the checkpoint id Flink recorded for it. */
    public record Snapshot(Path dir, long checkpointId) {
    }

    /**
     * The newest complete snapshot at or below {@code dir} (up to three levels: a state directory's
     * {@code checkpoints/JOB/chk-N}), by the checkpoint id in its {@code _metadata}.
     *
     * @throws IllegalArgumentException naming a {@code _metadata} that is empty, truncated or not Flink's
     */
    public static Optional<Snapshot> newestSnapshot(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        Snapshot best = null;
        try (Stream<Path> s = Files.find(dir, 4, (p, a) -> a.isRegularFile()
                && p.getFileName().toString().equals("_metadata"))) {
            for (Path m : (Iterable<Path>) s::iterator) {
                long id = checkpointId(m);
                if (best == null || id > best.checkpointId()) {
                    best = new Snapshot(m.getParent(), id);
                }
            }
        }
        return Optional.ofNullable(best);
    }

    /** The folder of {@link #newestSnapshot}. */
    public static Optional<Path> newest(Path dir) throws IOException {
        return newestSnapshot(dir).map(Snapshot::dir);
    }

    /**
     * The checkpoint id a {@code _metadata} file records, after reading the whole file the way Flink
     * does on restore (so that a damaged one is refused here, before a job starts, naming it).
     *
     * @throws IllegalArgumentException naming the file, what was found and what was expected
     */
    public static long checkpointId(Path metadata) throws IOException {
        long size = Files.size(metadata);
        if (size == 0) {
            throw new IllegalArgumentException(metadata + " is empty (0 bytes): not a complete Flink snapshot; "
                    + "remove its folder " + metadata.getParent() + " to resume from an older snapshot");
        }
        CheckpointMetadata m;
        try (InputStream in = Files.newInputStream(metadata)) {
            m = Checkpoints.loadCheckpointMetadata(new DataInputStream(in), Snapshots.class.getClassLoader(),
                    metadata.getParent().toString());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(metadata + " (" + size + " bytes) is not a readable Flink snapshot "
                    + "record (" + RootCause.line(e) + "): it was truncated, altered or written by something else; "
                    + "remove its folder " + metadata.getParent() + " to resume from an older snapshot");
        }
        return m.getCheckpointId();
    }

    /**
     * The snapshot a user means by {@code dir}: the folder itself when it is one; the savepoint named
     * by the marker of {@code gdn run --stop-after}; else the newest snapshot below it (a
     * {@code --savepoint-dir} or {@code --state-dir}).
     *
     * @throws IllegalArgumentException naming the folder when it holds no snapshot
     */
    public static Path resolve(Path dir, String option) throws IOException {
        if (Files.isRegularFile(dir.resolve("_metadata"))) {
            checkpointId(dir.resolve("_metadata"));
            return dir;
        }
        if (Files.isRegularFile(dir.resolve(LocalRun.MARKER))) {
            Path p = Path.of(LocalRun.readMarker(dir).get("savepoint").asText().replaceFirst("^file:", ""));
            if (Files.isRegularFile(p.resolve("_metadata"))) {
                checkpointId(p.resolve("_metadata"));
                return p;
            }
        }
        return newest(dir).orElseThrow(() -> new IllegalArgumentException(option + " " + dir
                + ": no savepoint or checkpoint there (no _metadata at or below it)"));
    }
}
