package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.kda.KdaCuda;
import dev.gdn.kernels.layers.kda.KdaModelTest;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.ForwardResult;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.RandomWeights;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.kernels.parity.RelativeError;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kimi Delta Attention on the GPU: a KDA hybrid (KDA, sliding-window attention, KDA) with random weights
 * gives the CPU engine's logits and memories within 1e-4, over runs of mixed lengths (the recurrent kernel
 * with a per-channel decay) and then one token each (the decode step, replayed as a graph), with both gate
 * forms. Until this has passed on a GPU the engine takes KDA only when {@code gdn.cuda.kda=on}. The same
 * check on a Gated DeltaNet + attention + Mamba2 hybrid covers the other kinds' CUDA layers.
 */
class CudaKdaTest {

    /** Runs everywhere: without the switch, the CUDA engine names why a KDA model stays on the CPU. */
    @Test
    void withoutTheSwitchAKdaModelIsRefusedByTheCudaEngineSayingWhy() {
        String before = System.clearProperty(KdaCuda.ENABLE);
        try {
            ModelConfig c = KdaModelTest.parse(KdaModelTest.config(null));
            assertThat(CudaForward.unsupportedReason(c)).hasValueSatisfying(r -> assertThat(r)
                    .contains("not yet verified on a GPU").contains("-Dgdn.cuda.kda=on"));
        } finally {
            if (before != null) {
                System.setProperty(KdaCuda.ENABLE, before);
            }
        }
    }

    @Tag("gpu")
    @Timeout(300)
    @ParameterizedTest(name = "lower_bound {0}")
    @ValueSource(doubles = {0.0, -5.0})
    void aKdaHybridOnTheGpuGivesTheCpuEnginesLogitsAndMemoriesWithin1e4(double lower) {
        Gpu.require();
        System.setProperty(KdaCuda.ENABLE, "on");
        try {
            matchesTheCpuEngine(KdaModelTest.parse(KdaModelTest.config(lower == 0 ? null : lower)),
                    "kda (lower_bound " + lower + ")");
        } finally {
            System.clearProperty(KdaCuda.ENABLE);
        }
    }

    /**
     * Every other kind through the engine's per-kind CUDA layers, without fixtures (what a GPU call carries
     * is small): a Gated DeltaNet + sliding-window attention + Mamba2 hybrid of random weights.
     */
    @Tag("gpu")
    @Timeout(300)
    @Test
    void aGdnAttentionMamba2HybridOnTheGpuGivesTheCpuEnginesLogitsAndMemoriesWithin1e4() throws Exception {
        Gpu.require();
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree("""
                {"model_type": "gated_deltanet", "vocab_size": 64, "hidden_size": 64, "num_heads": 2, "head_dim": 32,
                 "expand_v": 1.0, "num_hidden_layers": 4, "conv_size": 4, "allow_neg_eigval": true,
                 "attn": {"layers": [1], "num_heads": 4, "num_kv_heads": 2, "window_size": 8, "rope_theta": 10000.0},
                 "mamba2": {"layers": [3], "num_heads": 4, "head_dim": 16, "state_size": 16, "expand": 1, "n_groups": 1,
                            "conv_kernel": 4, "use_conv_bias": true, "norm_before_gate": false, "norm_eps": 1e-5}}
                """);
        matchesTheCpuEngine(dev.gdn.kernels.config.ModelConfigParser.parse(json, "hybrid"), "gdn+attention+mamba2");
    }

    /** Runs of mixed lengths, then three rounds of one token each, on both engines: logits and every memory part. */
    static void matchesTheCpuEngine(ModelConfig c, String what) {
        GatedDeltaNetModel cpu = new GatedDeltaNetModel(c, RandomWeights.of(c, 7), CpuKernels.fast());
        CudaForward engine = new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.FP32, 4096);
        GatedDeltaNetModel gpu = cpu.withEngine(engine);
        try {
            Random rnd = new Random(11);
            int streams = 5;
            List<StreamMemory> onCpu = new ArrayList<>();
            List<StreamMemory> onGpu = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                onCpu.add(cpu.newMemory());
                onGpu.add(gpu.newMemory());
            }
            int[] runs = {1, 5, 40, 3, 17};
            for (int round = 0; round < 4; round++) {
                List<StreamInput> a = new ArrayList<>();
                List<StreamInput> b = new ArrayList<>();
                for (int i = 0; i < streams; i++) {
                    int[] tokens = rnd.ints(round == 0 ? runs[i] : 1, 0, c.vocabSize()).toArray();
                    a.add(new StreamInput(onCpu.get(i), tokens));
                    b.add(new StreamInput(onGpu.get(i), tokens));
                }
                ForwardResult want = cpu.forward(a);
                ForwardResult got = gpu.forward(b);
                RelativeError logits = RelativeError.of(got.logits(), want.logits());
                System.out.printf("%s on %s, round %d: logits rel err %.2e%n", what, engine.name(), round,
                        logits.value());
                assertThat(logits.within(1e-4)).as("logits, round %d: %s", round, logits).isTrue();
                for (int i = 0; i < streams; i++) {
                    for (int l = 0; l < c.numLayers(); l++) {
                        float[][] g = onGpu.get(i).layer(l).parts();
                        float[][] w = onCpu.get(i).layer(l).parts();
                        assertThat(onGpu.get(i).layer(l).kind()).isSameAs(LayerKinds.of(c, l));
                        for (int p = 0; p < w.length; p++) {
                            RelativeError e = RelativeError.of(g[p], w[p]);
                            assertThat(e.within(1e-4)).as("stream %d layer %d part %d round %d: %s", i, l, p, round, e)
                                    .isTrue();
                        }
                    }
                }
            }
        } finally {
            engine.close();
        }
    }
}
