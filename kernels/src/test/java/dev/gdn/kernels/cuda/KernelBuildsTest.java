package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Every kernel source compiles, with nvcc for sm_90, in every layout the engine can choose (no GPU
 * needed; CI has nvcc). Without nvcc on the PATH the compile tests are skipped with that reason.
 */
class KernelBuildsTest {
    private static final List<KernelBuilds.Build> BUILDS = KernelBuilds.all(KernelBuilds.HOPPER_SHARED_PER_SM);

    @Test
    void theBuildsCoverEveryBranchOfTheEnginesChoices() {
        List<String> all = BUILDS.stream().map(KernelBuilds.Build::toString).toList();
        for (String file : new String[] {"gated_delta_rule_recurrent.cu", "gated_delta_rule_chunk.cu",
            "gated_delta_rule_chunk_tc.cu", "mamba2.cu", "model_ops.cu", "kda_ops.cu"}) {
            assertThat(all).as(file).anyMatch(b -> b.startsWith(file + " "));
        }
        List<String> tc = all.stream().filter(b -> b.startsWith("gated_delta_rule_chunk_tc.cu")).toList();
        for (String define : new String[] {"-DSTATE_REGS=0", "-DSTATE_REGS=1", "-DKT_BUFFER=0", "-DKT_BUFFER=1",
            "-DMIN_BLOCKS=1", "-DMIN_BLOCKS=2", "-DRECUR_WARPS=8", "-DRECUR_WARPS=16", "-DMMA_UNROLL=4",
            "-DPREC_BF16=0", "-DPREC_BF16=1", "-DBV=16", "-DBV=32", "-DBV=64", "-DPREPARE_BLOCKS=1",
            "-DPREPARE_BLOCKS=2", "-DPREPARE_BLOCKS=3", "-DSTATE_BF16", "-DHOST_PREPARE_SHARED=", "-DHOST_RECUR_SHARED="}) {
            assertThat(tc).as("tensor-core builds with " + define).anyMatch(b -> b.contains(define.endsWith("=") ? define : define + " ") || b.endsWith(define));
        }
        List<String> recurrent = all.stream().filter(b -> b.startsWith("gated_delta_rule_recurrent.cu")).toList();
        for (String define : new String[] {"-DCOLS=1", "-DCOLS=2", "-DKSPLIT=4", "-DKSPLIT=8", "-DKEY_DECAY"}) {
            assertThat(recurrent).as("recurrent builds with " + define).anyMatch(b -> b.contains(define));
        }
        assertThat(all).as("no duplicates").doesNotHaveDuplicates();
    }

    @Test
    void everyBuildCompilesWithNvccForSm90() throws Exception {
        String nvcc = nvcc();
        List<String> failed = KernelBuilds.compileAll(BUILDS, nvcc, "sm_90", Runtime.getRuntime().availableProcessors());
        assertThat(failed).as("builds that failed to compile").isEmpty();
    }

    @Test
    void aBuildThatDoesNotCompileIsReportedWithTheCompilersOutput() throws Exception {
        String nvcc = nvcc();
        KernelBuilds.Build broken = new KernelBuilds.Build(CudaModelOps.SOURCE, List.of("-DCONV_W=4",
                "-Dfloat=no_such_type"));
        List<String> failed = KernelBuilds.compileAll(List.of(broken), nvcc, "sm_90", 1);
        assertThat(failed).hasSize(1);
        assertThat(failed.get(0)).startsWith("model_ops.cu -DCONV_W=4 -Dfloat=no_such_type").contains("error");
    }

    @Test
    void aHostAllocationThatDiffersFromTheKernelsLayoutDoesNotCompile() throws Exception {
        String nvcc = nvcc();
        KernelBuilds.Build tc = BUILDS.stream().filter(b -> b.file().equals("gated_delta_rule_chunk_tc.cu"))
                .findFirst().orElseThrow();
        List<String> off = tc.options().stream().map(o -> {
            if (o.startsWith("-DHOST_RECUR_SHARED=")) {
                return "-DHOST_RECUR_SHARED=" + (Integer.parseInt(o.substring(o.indexOf('=') + 1)) + 16);
            }
            return o;
        }).toList();
        assertThat(off).isNotEqualTo(tc.options());
        List<String> failed = KernelBuilds.compileAll(List.of(new KernelBuilds.Build(tc.resource(), off)), nvcc,
                "sm_90", 1);
        assertThat(failed).hasSize(1);
        assertThat(failed.get(0)).contains("the host allocates another size of shared memory than gdr_chunk_recur lays out");
    }

    private static String nvcc() {
        Optional<String> found = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .map(d -> new File(d, "nvcc")).filter(File::canExecute).map(File::getPath).findFirst();
        if (found.isEmpty()) {
            System.out.println("KernelBuildsTest: skipped, nvcc is not on the PATH (the CUDA toolkit compiles the kernels)");
        }
        Assumptions.assumeTrue(found.isPresent(), "nvcc is not on the PATH");
        return found.get();
    }
}
