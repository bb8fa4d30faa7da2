package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Why CUDA is unavailable, in one short line (it is printed at every start of a CPU run). */
class CudaProbeReasonTest {
    @Test
    void aMissingLibraryIsNamedWithoutTheFoldersSearched() {
        String reason = CudaProbe.loadFailure(new UnsatisfiedLinkError("no jnicudart in java.library.path: "
                + "/usr/java/packages/lib:/usr/lib/x86_64-linux-gnu/jni:/lib/x86_64-linux-gnu:/usr/lib/jni:/lib:/usr/lib"));
        assertThat(reason).isEqualTo("the CUDA 13 libraries or the driver could not be loaded (no jnicudart in "
                + "java.library.path)");
        assertThat(CudaProbe.loadFailure(new NoClassDefFoundError("org/bytedeco/cuda/global/cudart")))
                .endsWith("(org/bytedeco/cuda/global/cudart)");
    }
}
