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
    @ValueSource(strings = {"cuda/gated_delta_rule_recurrent.cu", "cuda/gated_delta_rule_chunk.cu",
        "cuda/gated_delta_rule_chunk_tc.cu", "layers/mamba2/mamba2.cu", "cuda/model_ops.cu", "layers/kda/kda_ops.cu"})
    void projectHeadersAreInlinedOnce(String path) {
        String s = CudaDevice.source("/dev/gdn/kernels/" + path);
        String file = path.substring(path.lastIndexOf('/') + 1);
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
            // the mixers' own operations come from their kinds' headers (layers/gdn/gdn_ops.cuh,
            // layers/attention/attention_ops.cuh, by relative paths), once each
            for (String once : new String[] {"void short_conv(", "void ring_append(", "void rope_pair("}) {
                assertThat(s.split(java.util.regex.Pattern.quote(once), -1)).as(once).hasSize(2);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void kdaTakesTheRecurrenceWithAPerChannelDecayOnlyWhenAsked() {
        String s = CudaDevice.source(CudaRecurrentGatedDeltaRule.SOURCE);
        assertThat(s).contains("#ifdef KEY_DECAY");
        assertThat(java.util.Arrays.asList(CudaRecurrentGatedDeltaRule.options(
                new dev.gdn.kernels.deltarule.DeltaRuleShape(1, 1, 64, 64), StatePrecision.FP32))).doesNotContain("-DKEY_DECAY");
        assertThat(java.util.Arrays.asList(CudaRecurrentGatedDeltaRule.options(
                new dev.gdn.kernels.deltarule.DeltaRuleShape(1, 1, 64, 64), StatePrecision.FP32, true))).contains("-DKEY_DECAY");
    }

    @org.junit.jupiter.api.Test
    void aMissingSourceIsNamed() {
        assertThatThrownBy(() -> CudaDevice.source("/dev/gdn/kernels/cuda/none.cu"))
                .hasMessageContaining("/dev/gdn/kernels/cuda/none.cu is not on the classpath");
    }
}
