package dev.gdn.run;


import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The operator benchmark refuses a case its heap cannot hold before it starts, with advice bench accepts. */
class OperatorBenchCasesTest {
    static final long FLA_1B = 64L * 1024 * 1024 + 512 * 1024;
    static final long GIB = 1L << 30;

    @Test
    void aGpuSizedCaseOnTheCpuIsRefusedAtOnceNamingHeapAndCases() {
        var k = OperatorBench.parseCase("fla-1b:256:1");
        assertThatThrownBy(() -> OperatorBench.checkHeap(k, FLA_1B, false, 8 * GIB))
                .hasMessageStartingWith("case fla-1b 256 streams x 1 token needs about 32.3 GiB of heap (512 memories "
                        + "of 64.50 MiB in keyed state and host slots), more than 60% of this JVM's 8.0 GiB")
                .hasMessageContaining("GDN_JAVA_OPTS=-Xmx54g")
                .hasMessageContaining("--cases")
                .hasMessageNotContaining("--state-backend");
    }

    @Test
    void casesThatFitPassAndTheCpuCasesFitADefaultHeap() {
        OperatorBench.checkHeap(OperatorBench.parseCase("fla-1b:256:1"), FLA_1B, true, 100 * GIB);
        for (var k : OperatorBench.cpuCases()) {
            assertThat(k.model()).isEqualTo("recall");
            OperatorBench.checkHeap(k, 600 * 1024, false, 2 * GIB);
        }
    }

    @Test
    void aRocksDbCaseCountsOnlyTheHostSlotsAndCasesNameTheirStateBackend() {
        var k = OperatorBench.parseCase("recall:zipf:1000000:256:20000:rocksdb");
        assertThat(k.state()).isEqualTo("rocksdb");
        assertThat(k.keys()).isEqualTo(1_000_000);
        assertThat(k.label()).isEqualTo("recall zipf over 1,000,000 keys, 256 per bundle, cache 20,000, rocksdb");
        OperatorBench.checkHeap(k, 600 * 1024, true, 8 * GIB);
        assertThatThrownBy(() -> OperatorBench.checkHeap(OperatorBench.parseCase("recall:zipf:1000000:256:20000"),
                600 * 1024, true, 8 * GIB)).hasMessageContaining("1,000,000 memories");
        assertThat(OperatorBench.parseCase("recall:256:1").state()).isEqualTo("hashmap");
        assertThatThrownBy(() -> OperatorBench.parseCase("recall:256:1:memory"))
                .hasMessageContaining("state backend 'memory', expected hashmap or rocksdb");
    }

    @Test
    void anOutOfHeapLineGivesAdviceTheCommandAccepts() {
        OutOfMemoryError e = new OutOfMemoryError("Java heap space");
        assertThat(dev.gdn.cli.GdnCli.outOfHeap(new String[] {"bench", "--what", "operator"}, e))
                .endsWith("give the JVM more with GDN_JAVA_OPTS=-Xmx..., or choose smaller --cases");
        assertThat(dev.gdn.cli.GdnCli.outOfHeap(new String[] {"run"}, e))
                .endsWith("or keep memories off the heap with --state-backend rocksdb");
    }

    @Test
    void theNoOpEngineRunsTheJobAtItsHostPathsSpeed() throws Exception {
        var printed = new java.io.ByteArrayOutputStream();
        OperatorBench.run(java.util.List.of(OperatorBench.parseCase("recall:64:1")), "noop", "bf16-weights/fp32",
                java.time.Duration.ofSeconds(2), null, new java.io.PrintStream(printed, true,
                        java.nio.charset.StandardCharsets.UTF_8));
        String line = printed.toString(java.nio.charset.StandardCharsets.UTF_8).lines()
                .filter(l -> l.startsWith("recall 64 streams")).findFirst().orElseThrow();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("no-op engine \\| host path +(\\d+) tok/s").matcher(line);
        assertThat(m.find()).as(line).isTrue();
        assertThat(Long.parseLong(m.group(1))).as(line).isGreaterThan(0);
    }
}
