package dev.gdn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code gdn parity}: its output contract and exit codes. */
@Timeout(120)
class ParityCommandTest {
    static final Path FLA = Path.of("../kernels/src/test/resources/fixtures/fla").toAbsolutePath().normalize();
    static final Path H2 = Path.of("../kernels/src/test/resources/fixtures/h2").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    record Result(int code, List<String> out, String err) {
        String last() {
            return out.get(out.size() - 1);
        }
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = GdnCli.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Result(code, out.toString().lines().toList(), err.toString());
    }

    @Test
    void modelPassesWithPieces() {
        Path m = FLA.resolve("models/gdn-tiny");
        Result r = run("parity", "--model", m.toString(), "--expected", m.resolve("expected.safetensors").toString(),
                "--pieces", "37,1,1,64,57");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.last()).matches("parity: PASS max_rel_err=\\d\\.\\d{3}e-\\d\\d");
        assertThat(r.out()).anyMatch(l -> l.startsWith("logits (pieces [37, 1, 1, 64, 57])"));
        assertThat(r.out()).anyMatch(l -> l.startsWith("state.layers.2.recurrent_state (pieces)"));
    }

    /** The H2 hybrid (Mamba2 + Gated DeltaNet + attention) on the CPU, for the splits its issue names. */
    @Test
    void anH2HybridPassesWithMultiTokenPiecesAfterTheFirst() {
        Path m = H2.resolve("models/h2-tiny");
        for (String pieces : new String[] {"40,1,1,30,28", "50,50"}) {
            Result r = run("parity", "--model", m.toString(), "--expected", m.resolve("expected.safetensors").toString(),
                    "--pieces", pieces, "--backend", "cpu");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.last()).startsWith("parity: PASS");
            assertThat(r.out()).anyMatch(l -> l.startsWith("state.layers.0.recurrent_state (pieces)") && l.contains(" ok "));
            assertThat(r.out()).anyMatch(l -> l.startsWith("state.layers.3.conv_state (pieces)") && l.contains(" ok "));
        }
        // the GPU engine says why it cannot take the model; auto falls back to the CPU saying so
        Result cuda = run("parity", "--model", m.toString(), "--expected", m.resolve("expected.safetensors").toString(),
                "--backend", "auto");
        assertThat(cuda.code()).as(cuda.err()).isZero();
        assertThat(cuda.err()).contains("using the CPU");
    }

    @Test
    void modelInfoNamesTheLayerTypesOfAnH2Hybrid() {
        Result r = run("model", "info", "--model", H2.resolve("models/h2-tiny").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).anyMatch(l -> l.contains("6 (2 gated deltanet, 2 sliding-window attention, 2 mamba2)"));
        assertThat(r.out()).anyMatch(l -> l.contains("mamba2[H=8, P=32, N=16, conv=3x288]"));
    }

    @Test
    void opPassesAndFailsOnAnImpossibleTolerance() {
        String op = FLA.resolve("ops/b2-t100-h2-hv4-k32-v64.safetensors").toString();
        Result pass = run("parity", "--op", op);
        assertThat(pass.code()).isZero();
        assertThat(pass.out()).hasSize(7);
        assertThat(pass.last()).startsWith("parity: PASS max_rel_err=");
        Result fail = run("parity", "--op", op, "--tolerance", "1e-12");
        assertThat(fail.code()).isEqualTo(1);
        assertThat(fail.last()).startsWith("parity: FAIL max_rel_err=");
    }

    @Test
    void badInputExitsWithTwoAndSaysWhy() throws IOException {
        Result missing = run("parity", "--op", dir.resolve("nope.safetensors").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("no such file");

        Path m = FLA.resolve("models/gdn-tiny");
        Result pieces = run("parity", "--model", m.toString(), "--expected", m.resolve("expected.safetensors").toString(),
                "--pieces", "10,10");
        assertThat(pieces.code()).isEqualTo(2);
        assertThat(pieces.err()).contains("sum to 20, expected T = 160");

        Files.writeString(dir.resolve("config.json"), Files.readString(m.resolve("config.json"))
                .replace("\"gated_deltanet\"", "\"rwkv7\""));
        Result config = run("parity", "--model", dir.toString(), "--expected", m.resolve("expected.safetensors").toString());
        assertThat(config.code()).isEqualTo(2);
        assertThat(config.err()).contains("model_type is 'rwkv7'");

        Result wrongModel = run("parity", "--model", FLA.resolve("models/h1-swa").toString(), "--expected",
                m.resolve("expected.safetensors").toString());
        assertThat(wrongModel.code()).isEqualTo(2);
        assertThat(wrongModel.err()).contains("logits has shape [2, 160, 384], expected [2, 160, 256]");
    }

    @Test
    void forcingCudaWhereItCannotWorkExitsWithThree() {
        org.junit.jupiter.api.Assumptions.assumeFalse(dev.gdn.kernels.cuda.CudaProbe.available(),
                "this machine has CUDA: the forced-unavailable path cannot be exercised here");
        String op = FLA.resolve("ops/b3-t1-h2-k64-v64.safetensors").toString();
        Result r = run("parity", "--op", op, "--backend", "cuda");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.err()).startsWith("CUDA unavailable: ");
        Result auto = run("parity", "--op", op, "--backend", "auto");
        assertThat(auto.code()).isZero();
        assertThat(auto.err()).contains("INFO backend auto: using the CPU");
        assertThat(auto.last()).startsWith("parity: PASS");

        String tiny = FLA.resolve("models/gdn-tiny").toString();
        String expected = FLA.resolve("models/gdn-tiny/expected.safetensors").toString();
        Result model = run("parity", "--model", tiny, "--expected", expected, "--backend", "cuda");
        assertThat(model.code()).isEqualTo(3);
        assertThat(model.err()).startsWith("CUDA unavailable: ");
        Result modelAuto = run("parity", "--model", tiny, "--expected", expected, "--backend", "auto",
                "--matmul-precision", "bf16");
        assertThat(modelAuto.code()).isZero();
        assertThat(modelAuto.err()).contains("INFO backend auto: using the CPU").contains("backend: cpu");
        assertThat(modelAuto.last()).startsWith("parity: PASS");
        assertThat(run("parity", "--model", tiny, "--expected", expected, "--matmul-precision", "fp8").err())
                .contains("'fp8'");
        // the GPU tables (the benchmarks module, on this module's classpath) without a GPU: exit 3 and why
        for (String what : new String[] {"step", "model", "mamba2", "generation", "all"}) {
            Result bench = run("bench", "--what", what);
            assertThat(bench.code()).as(what).isEqualTo(GdnCli.EXIT_CUDA_UNAVAILABLE);
            assertThat(bench.err()).as(what).startsWith("CUDA unavailable: ");
        }
        assertThat(run("bench", "--what", "everything").err()).contains("'everything'").contains("generation");
        assertThat(run("parity", "--model", tiny, "--expected", expected, "--state-precision", "fp16").err())
                .contains("'fp16'");
        Result job = run("run", "--backend", "cuda", "--events", "10");
        assertThat(job.code()).isEqualTo(3);
        assertThat(job.err()).startsWith("CUDA unavailable: ");
    }
}
