package dev.gdn.run;


import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which snapshot a start resumes from: the one Flink recorded as newest (its checkpoint id), whatever
 * the file times say, and a damaged record is refused naming the file.
 */
class SnapshotsTest {
    @TempDir
    Path state;

    /** A snapshot folder whose {@code _metadata} Flink's own writer made, with {@code id} and a file time. */
    private Path snapshot(String folder, long id, Instant modified) throws IOException {
        Path dir = Files.createDirectories(state.resolve(folder));
        Path meta = dir.resolve("_metadata");
        try (OutputStream out = Files.newOutputStream(meta)) {
            Checkpoints.storeCheckpointMetadata(new CheckpointMetadata(id, List.of(), List.of()),
                    new DataOutputStream(out));
        }
        Files.setLastModifiedTime(meta, FileTime.from(modified));
        return dir;
    }

    @Test
    void aCopiedStateDirectoryResumesFromTheHighestCheckpointIdNotTheNewestFile() throws IOException {
        Instant t = Instant.parse("2026-12-01T10:00:00Z");
        // as after `cp -r`: the older retained checkpoint got a later time than the savepoint taken after it
        snapshot("checkpoints/1a2b/chk-5", 5, t.plusSeconds(60));
        Path savepoint = snapshot("savepoints/savepoint-1a2b-7", 7, t);
        assertThat(ExternalRun.latestSnapshot(state)).contains(savepoint);
        assertThat(Snapshots.newestSnapshot(state).orElseThrow().checkpointId()).isEqualTo(7);
    }

    @Test
    void aCheckpointRetainedAfterTheSavepointItResumedFromWins() throws IOException {
        Instant t = Instant.parse("2026-12-01T10:00:00Z");
        snapshot("savepoints/savepoint-1a2b-7", 7, t.plusSeconds(60));
        Path crash = snapshot("checkpoints/9f9f/chk-12", 12, t);
        snapshot("checkpoints/9f9f/chk-11", 11, t.plusSeconds(120));
        assertThat(ExternalRun.latestSnapshot(state)).contains(crash);
    }

    @Test
    void anEmptyOrTruncatedMetadataIsRefusedNamingTheFile() throws IOException {
        Path good = snapshot("checkpoints/1a2b/chk-3", 3, Instant.now());
        Path empty = Files.createDirectories(state.resolve("checkpoints/1a2b/chk-4")).resolve("_metadata");
        Files.createFile(empty);
        assertThatThrownBy(() -> ExternalRun.latestSnapshot(state)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(empty + " is empty (0 bytes): not a complete Flink snapshot");
        byte[] bytes = Files.readAllBytes(good.resolve("_metadata"));
        Files.write(empty, java.util.Arrays.copyOf(bytes, 10));
        assertThatThrownBy(() -> ExternalRun.latestSnapshot(state)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(empty + " (10 bytes) is not a readable Flink snapshot record");
        Files.write(empty, "not flink".getBytes());
        assertThatThrownBy(() -> Snapshots.resolve(empty.getParent(), "--savepoint"))
                .hasMessageContaining("is not a readable Flink snapshot record");
    }

    @Test
    void aStateDirectoryMovedWithARetainedCheckpointIsRefusedWithAdvice() throws Exception {
        Path old = state.resolve("old");
        Path moved = state.resolve("moved");
        Files.createDirectories(moved.resolve("checkpoints/1a2b"));
        Path meta = moved.resolve("checkpoints/1a2b/chk-4/_metadata");
        Files.createDirectories(meta.getParent());
        try (OutputStream out = Files.newOutputStream(meta)) {
            Checkpoints.storeCheckpointMetadata(new CheckpointMetadata(4, List.of(), List.of()),
                    new DataOutputStream(out));
        }
        Files.writeString(moved.resolve(ExternalRun.STATE_MARKER), new ObjectMapper().createObjectNode()
                .put("input_topic", "gdn-events").put("group_id", "gdn").put("state_dir", old.toString())
                .toPrettyString());
        var c = new org.apache.flink.configuration.Configuration();
        c.set(dev.gdn.operator.GdnOptions.BOOTSTRAP_SERVERS, "127.0.0.1:1");
        var plan = new ExternalRun.Plan(c, 1, moved, java.time.Duration.ofSeconds(1), java.time.Duration.ofSeconds(1));
        assertThatThrownBy(() -> ExternalRun.run(plan, new java.io.PrintWriter(java.io.Writer.nullWriter())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--state-dir " + moved + " was moved from " + old)
                .hasMessageContaining("chk-4, checkpoint 4) is a retained checkpoint")
                .hasMessageContaining("move the folder back");
    }
}
