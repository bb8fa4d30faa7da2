package dev.gdn.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A scratch folder with files in it is gone after its JVM ends: closed, by System.exit, or by SIGTERM
 * (as Ctrl-C ends a run). A JVM of its own per case.
 */
@Timeout(120)
class ScratchDirTest {
    /**
     * Creates a scratch folder with files in it, prints its path, waits for a line on stdin, then ends as
     * {@code args[0]} says.
     */
    public static void main(String[] args) throws Exception {
        ScratchDir d = ScratchDir.create("gdn-scratch-test");
        Files.createDirectories(d.path().resolve("a/b"));
        Files.writeString(d.path().resolve("a/b/c.txt"), "x");
        Files.writeString(d.path().resolve("d.txt"), "y");
        System.out.println(d.path());
        System.out.flush();
        // the test has seen the files: then end (without this wait a fast close raced the test's look)
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        switch (args[0]) {
            case "close" -> d.close();
            case "exit" -> System.exit(3);
            default -> Thread.sleep(60_000); // until the test terminates it
        }
    }

    private static Path endsBy(String how) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), ScratchDirTest.class.getName(), how)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Path dir;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            dir = Path.of(r.readLine());
            assertThat(dir.resolve("a/b/c.txt")).exists();
            p.getOutputStream().write('\n');
            p.getOutputStream().flush();
            if (how.equals("term")) {
                p.destroy(); // SIGTERM
            }
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        return dir;
    }

    @Test
    void aScratchFolderWithFilesIsGoneWhenClosed() throws Exception {
        assertThat(endsBy("close")).doesNotExist();
    }

    @Test
    void aScratchFolderWithFilesIsGoneAfterSystemExit() throws Exception {
        assertThat(endsBy("exit")).doesNotExist();
    }

    @Test
    void aScratchFolderWithFilesIsGoneAfterSigterm() throws Exception {
        assertThat(endsBy("term")).doesNotExist();
    }
}
