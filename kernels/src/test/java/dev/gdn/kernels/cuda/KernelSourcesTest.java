package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernel sources as NVRTC gets them (no GPU needed): every project header inlined exactly once, no
 * include of ours left for NVRTC to resolve, system headers left as they are.
 */
class KernelSourcesTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"gated_delta_rule_recurrent.cu", "gated_delta_rule_chunk.cu", "gated_delta_rule_chunk_tc.cu",
        "mamba2.cu", "model_ops.cu"})
    void projectHeadersAreInlinedOnce(String file) {
        String s = CudaDevice.source("/dev/gdn/kernels/cuda/" + file);
        assertThat(s).doesNotContain("#include \"");
        assertThat(s.split("float silu_f\\(", -1)).as("definitions of silu_f").hasSize(2);
        assertThat(s.split("typedef unsigned short state_t;", -1)).as("bf16 state typedefs").hasSize(2);
        assertThat(s).doesNotContain("#pragma once");
        if (file.endsWith("_tc.cu")) {
            assertThat(s).contains("#include <mma.h>");
            // its stages come from headers of their own: each kernel and each layout defined once
            for (String once : new String[] {"gdr_chunk_prepare(", "gdr_chunk_recur(", "constexpr size_t PREPARE_SMEM_BYTES",
                "__device__ __forceinline__ void st_elem4("}) {
                assertThat(s.split(java.util.regex.Pattern.quote(once), -1)).as(once).hasSize(2);
            }
            assertThat(s.indexOf("gdr_chunk_prepare(")).as("the preparation before the recurrence")
                    .isLessThan(s.indexOf("gdr_chunk_recur("));
        }
        if (file.equals("model_ops.cu")) {
            // the mixers' own operations come from their headers (gdn_ops.cuh, attention_ops.cuh), once each
            for (String once : new String[] {"void short_conv(", "void ring_append(", "void rope_pair("}) {
                assertThat(s.split(java.util.regex.Pattern.quote(once), -1)).as(once).hasSize(2);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void aMissingSourceIsNamed() {
        assertThatThrownBy(() -> CudaDevice.source("/dev/gdn/kernels/cuda/none.cu"))
                .hasMessageContaining("/dev/gdn/kernels/cuda/none.cu is not on the classpath");
    }
}
