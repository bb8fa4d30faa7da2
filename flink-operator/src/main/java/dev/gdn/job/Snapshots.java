package dev.gdn.job;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/** Finding a savepoint or retained checkpoint from any folder a user may name. */
public final class Snapshots {
    private Snapshots() {
    }

    /**
     * The newest complete snapshot at or below {@code dir} (up to three levels: a state directory's
     * {@code checkpoints/JOB/chk-N}): the folder of the newest {@code _metadata}, which Flink writes
     * last.
     */
    public static Optional<Path> newest(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        Path best = null;
        long bestTime = Long.MIN_VALUE;
        try (Stream<Path> s = Files.find(dir, 4, (p, a) -> a.isRegularFile()
                && p.getFileName().toString().equals("_metadata"))) {
            for (Path m : (Iterable<Path>) s::iterator) {
                long t = Files.getLastModifiedTime(m).toMillis();
                if (t > bestTime) {
                    bestTime = t;
                    best = m.getParent();
                }
            }
        }
        return Optional.ofNullable(best);
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
            return dir;
        }
        if (Files.isRegularFile(dir.resolve(LocalRun.MARKER))) {
            Path p = Path.of(LocalRun.readMarker(dir).get("savepoint").asText().replaceFirst("^file:", ""));
            if (Files.isRegularFile(p.resolve("_metadata"))) {
                return p;
            }
        }
        return newest(dir).orElseThrow(() -> new IllegalArgumentException(option + " " + dir
                + ": no savepoint or checkpoint there (no _metadata at or below it)"));
    }
}
