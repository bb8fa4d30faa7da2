package dev.gdn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.run.EmbeddedKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every failed {@code gdn run} ends with its root cause in one line and exit code 2: tampered or corrupt
 * savepoints, a missing topic or an unreachable broker (within a bounded wait), a bad input file, an
 * option that could never take effect.
 */
@Timeout(600)
class RunFailuresTest {
    @TempDir
    Path dir;

    static final String MODEL = "../models/recall";

    /** The last line of stderr, which must be the whole story. */
    static String errorLine(ParityCommandTest.Result r) {
        List<String> lines = r.err().lines().filter(l -> l.startsWith("error: ")).toList();
        assertThat(lines).as("one error line in:%n%s", r.err()).hasSize(1);
        assertThat(lines.get(0)).doesNotContain("MiniCluster").doesNotContain("Job execution failed");
        return lines.get(0);
    }

    /** A savepoint of the first 150 events of a 300-event demo run. */
    Path savepoint(String name) throws Exception {
        Path sp = dir.resolve(name);
        var r = ParityCommandTest.run("run", "--model", MODEL, "--events", "300", "--streams", "10", "--stop-after", "150",
                "--savepoint-dir", sp.toString(), "--checkpoint-interval", "500ms");
        assertThat(r.code()).as(r.err()).isZero();
        return sp;
    }

    static Path largestStateFile(Path savepointDir) throws Exception {
        try (Stream<Path> s = Files.walk(savepointDir)) {
            return s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals("_metadata"))
                    .filter(p -> !p.getFileName().toString().endsWith(".json"))
                    .max((a, b) -> Long.compare(a.toFile().length(), b.toFile().length())).orElseThrow();
        }
    }

    static ParityCommandTest.Result resume(Path sp) {
        return ParityCommandTest.run("run", "--model", MODEL, "--events", "300", "--streams", "10", "--from-savepoint",
                sp.toString(), "--checkpoint-interval", "500ms");
    }

    @Test
    void aCorruptSavepointFailsNamingTheChecksumNotTheCluster() throws Exception {
        Path sp = savepoint("corrupt");
        Path f = largestStateFile(sp);
        byte[] b = Files.readAllBytes(f);
        for (int i = b.length / 2; i < b.length / 2 + 64; i++) {
            b[i] ^= 0x5a;
        }
        Files.write(f, b);
        var r = resume(sp);
        assertThat(r.code()).isEqualTo(2);
        assertThat(errorLine(r)).matches("error: the job failed: stream memory is corrupt: stored CRC32C 0x\\p{XDigit}{8}, "
                + "computed 0x\\p{XDigit}{8}");
    }

    @Test
    void flippedOrTruncatedStateFilesAreNamedAsSuchNotAsADecodingError() throws Exception {
        Path sp = savepoint("flipped");
        Path f = largestStateFile(sp);
        byte[] b = Files.readAllBytes(f);
        for (int i = 40; i < 44; i++) {
            b[i] ^= (byte) 0xff;
        }
        Files.write(f, b);
        var flipped = resume(sp);
        assertThat(flipped.code()).isEqualTo(2);
        assertThat(errorLine(flipped)).startsWith("error: the job failed: the state files of snapshot ")
                .contains(sp.toString()).endsWith("they were truncated or altered; restore an unaltered snapshot");
        Path cut = savepoint("truncated");
        Path g = largestStateFile(cut);
        byte[] whole = Files.readAllBytes(g);
        Files.write(g, java.util.Arrays.copyOf(whole, whole.length / 3));
        var truncated = resume(cut);
        assertThat(truncated.code()).isEqualTo(2);
        assertThat(errorLine(truncated)).startsWith("error: the job failed: the state files of snapshot ")
                .endsWith("they were truncated or altered; restore an unaltered snapshot");
    }

    @Test
    void aRenamedStreamKeyInASavepointIsRefusedNotRestartedFromEmpty() throws Exception {
        Path sp = savepoint("renamed");
        boolean renamed = false;
        try (Stream<Path> s = Files.walk(sp)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                byte[] b = Files.readAllBytes(p);
                String latin = new String(b, StandardCharsets.ISO_8859_1);
                if (!p.getFileName().toString().equals("_metadata") && latin.contains("stream-5")) {
                    Files.write(p, latin.replace("stream-5", "stream-X").getBytes(StandardCharsets.ISO_8859_1));
                    renamed = true;
                }
            }
        }
        assertThat(renamed).as("the savepoint holds stream-5").isTrue();
        var r = resume(sp);
        assertThat(r.code()).isEqualTo(2);
        assertThat(errorLine(r)).contains("stream 'stream-X'").contains("the checkpoint or savepoint was altered");
        // state inspect refuses it as the job does, instead of listing the other streams only
        var inspect = ParityCommandTest.run("state", "inspect", "--savepoint", sp.toString(), "--model", MODEL);
        assertThat(inspect.code()).isEqualTo(2);
        assertThat(errorLine(inspect)).contains("stream 'stream-X'").contains("the checkpoint or savepoint was altered");
    }

    @Test
    void anEmptyOrTruncatedSnapshotRecordIsRefusedNamingTheFile() throws Exception {
        Path sp = savepoint("metadata");
        Path meta;
        try (Stream<Path> s = Files.walk(sp)) {
            meta = s.filter(p -> p.getFileName().toString().equals("_metadata")).findFirst().orElseThrow();
        }
        byte[] whole = Files.readAllBytes(meta);
        Files.write(meta, new byte[0]);
        var empty = resume(sp);
        assertThat(empty.code()).isEqualTo(2);
        assertThat(errorLine(empty)).isEqualTo("error: " + meta + " is empty (0 bytes): not a complete Flink snapshot; "
                + "remove its folder " + meta.getParent() + " to resume from an older snapshot");
        Files.write(meta, java.util.Arrays.copyOf(whole, whole.length / 2));
        var truncated = resume(sp);
        assertThat(truncated.code()).isEqualTo(2);
        assertThat(errorLine(truncated)).startsWith("error: " + meta + " (" + whole.length / 2
                + " bytes) is not a readable Flink snapshot record");
    }

    /**
     * Moves the Kafka source's starting offset of partition 0 of gdn-events in a savepoint's {@code _metadata}
     * by {@code delta} (the split as the connector writes it: topic as UTF, partition, starting offset,
     * stopping offset), as a hand edit would; returns the offset found.
     */
    static long shiftSourceOffset(Path savepoint, long delta) throws Exception {
        Path meta;
        try (Stream<Path> s = Files.walk(savepoint)) {
            meta = s.filter(p -> p.getFileName().toString().equals("_metadata")).findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(meta);
        java.io.ByteArrayOutputStream pattern = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream d = new java.io.DataOutputStream(pattern);
        d.writeUTF("gdn-events");
        d.writeInt(0);
        byte[] p = pattern.toByteArray();
        long found = -1;
        for (int i = 0; i + p.length + 8 <= b.length; i++) {
            if (java.util.Arrays.equals(b, i, i + p.length, p, 0, p.length)) {
                java.nio.ByteBuffer at = java.nio.ByteBuffer.wrap(b);
                long offset = at.getLong(i + p.length);
                if (offset >= 0) { // negative ones are the connector's markers (earliest, latest), not positions
                    assertThat(found).as("one position of gdn-events-0").isEqualTo(-1);
                    found = offset;
                    at.putLong(i + p.length, offset + delta);
                }
            }
        }
        assertThat(found).as("the savepoint holds the source split of gdn-events-0").isPositive();
        Files.write(meta, b);
        return found;
    }

    @Test
    void aSnapshotWhoseSourceOffsetsWereRewoundOrMovedForwardIsRefusedWithBothOffsets() throws Exception {
        Path rewound = savepoint("rewound");
        long at = shiftSourceOffset(rewound, -20);
        var r = resume(rewound);
        assertThat(r.code()).isEqualTo(2);
        assertThat(errorLine(r)).contains("resumes partition gdn-events-0 at offset " + (at - 20))
                .contains("records events up to offset " + (at - 1) + " as answered").contains("(rewound)");
        Path forward = savepoint("forward");
        at = shiftSourceOffset(forward, 5);
        var f = resume(forward);
        assertThat(f.code()).isEqualTo(2);
        assertThat(errorLine(f)).contains("resumes partition gdn-events-0 at offset " + (at + 5))
                .contains("the record at offset " + at + " lies between").contains("(moved forward)");
    }

    @Test
    void stateInspectAcceptsTheFolderThatFromSavepointAccepts() throws Exception {
        Path sp = savepoint("inspect");
        var r = ParityCommandTest.run("state", "inspect", "--savepoint", sp.toString(), "--model", MODEL);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).anyMatch(l -> l.startsWith("stream stream-0 tokens="));
    }

    @Test
    void yourOwnKafkaFailsFastOnAMissingTopicOrAnUnreachableBroker() throws Exception {
        long start = System.nanoTime();
        var unreachable = ParityCommandTest.run("run", "--model", MODEL, "--bootstrap-servers", "127.0.0.1:1",
                "--kafka-timeout", "3s", "--state-dir", dir.resolve("s0").toString());
        assertThat(unreachable.code()).isEqualTo(2);
        assertThat(errorLine(unreachable)).startsWith("error: Kafka at 127.0.0.1:1 did not answer within 3 s");
        assertThat((System.nanoTime() - start) / 1e9).isLessThan(30);
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            kafka.createTopics(1, "present-in", "present-out");
            var missing = ParityCommandTest.run("run", "--model", MODEL, "--bootstrap-servers", kafka.bootstrapServers(),
                    "--input-topic", "present-in", "--output-topic", "present-out", "--dead-letter-topic", "absent-dlq",
                    "--state-dir", dir.resolve("s1").toString());
            assertThat(missing.code()).isEqualTo(2);
            assertThat(errorLine(missing)).isEqualTo("error: topic 'absent-dlq' does not exist on "
                    + kafka.bootstrapServers() + ": create it first (the job creates no topics)");
            kafka.createTopics(1, "present-dlq");
            var noSummaryTopic = ParityCommandTest.run("run", "--model", MODEL, "--bootstrap-servers",
                    kafka.bootstrapServers(), "--input-topic", "present-in", "--output-topic", "present-out",
                    "--dead-letter-topic", "present-dlq", "--conf", "gdn.summary.topic=nosuch-sum",
                    "--state-dir", dir.resolve("s2").toString());
            assertThat(noSummaryTopic.code()).isEqualTo(2);
            assertThat(errorLine(noSummaryTopic)).isEqualTo("error: topic 'nosuch-sum' does not exist on "
                    + kafka.bootstrapServers() + ": create it first (the job creates no topics)");
        }
    }

    @Test
    void aServerThatIsNotKafkaIsNamedInsteadOfExhaustingTheHeap() throws Exception {
        try (java.net.ServerSocket http = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread server = new Thread(() -> {
                while (!http.isClosed()) {
                    try (java.net.Socket s = http.accept()) {
                        s.getInputStream().read(new byte[256]); // a request, as an HTTP server reads one first
                        s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII));
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            server.setDaemon(true);
            server.start();
            String address = "127.0.0.1:" + http.getLocalPort();
            var r = ParityCommandTest.run("run", "--model", MODEL, "--bootstrap-servers", address, "--kafka-timeout",
                    "1500ms", "--state-dir", dir.resolve("http").toString());
            assertThat(r.code()).isEqualTo(2);
            assertThat(errorLine(r)).isEqualTo("error: " + address + " does not speak the Kafka protocol: it answered "
                    + "a Kafka request with 'HTTP/1.1'; check --bootstrap-servers / gdn.kafka.bootstrap-servers");
        }
    }

    @Test
    void anInputFileThatIsNotUtf8NamesFileAndLine() throws Exception {
        Path f = dir.resolve("events.jsonl");
        byte[] good = "{\"stream\":\"s\",\"tokens\":[1]}\n".getBytes(StandardCharsets.UTF_8);
        byte[] bad = {'{', '"', (byte) 0xff, '"', '}', '\n'};
        Files.write(f, concat(good, good, bad));
        var r = ParityCommandTest.run("run", "--model", MODEL, "--input-file", f.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(errorLine(r)).startsWith("error: --input-file " + f + ": line 3 is not UTF-8");
    }

    @Test
    void anInjectedFailureThatCouldNeverFireIsRefused() {
        var r = ParityCommandTest.run("run", "--model", MODEL, "--events", "50", "--inject-failure-after", "50");
        assertThat(r.code()).isEqualTo(2);
        assertThat(errorLine(r)).isEqualTo("error: --inject-failure-after 50: this run sends only 50 events, so the "
                + "failure would never fire");
    }

    @Test
    void weightsLargerThanTheHeapAreRefusedBeforeLoadingWithTheHeapTheyNeed() throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx20m",
                "-cp", System.getProperty("java.class.path"), GdnCli.class.getName(), "model", "info", "--model", MODEL)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(2);
        assertThat(out).containsPattern("error: \\.\\./models/recall: the weights need 17 MiB of heap as fp32 "
                + "\\(4,680,480 parameters\\), this JVM can take \\d+ MiB more \\(max heap \\d+ MiB\\): give it more");
    }

    @Test
    void aConfigWhoseSizesOverflowIsRefusedByModelInfo() throws Exception {
        Path m = dir.resolve("overflow");
        Files.createDirectories(m);
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(Path.of(MODEL, "config.json").toFile());
        cfg.put("num_heads", 65536).put("num_v_heads", 65536).put("head_dim", 65536);
        Files.writeString(m.resolve("config.json"), cfg.toString());
        Files.copy(Path.of(MODEL, "model.safetensors"), m.resolve("model.safetensors"));
        var r = ParityCommandTest.run("model", "info", "--model", m.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(errorLine(r)).contains("num_heads (65536) x head_dim (65536) = 4294967296 elements");
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
