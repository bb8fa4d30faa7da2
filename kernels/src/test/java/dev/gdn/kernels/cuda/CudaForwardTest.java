package dev.gdn.kernels.cuda;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.io.HalfFloats;
import dev.gdn.kernels.io.SafetensorsFile;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.ForwardResult;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.kernels.parity.ModelParity;
import dev.gdn.kernels.parity.ParityReport;
import dev.gdn.kernels.parity.RelativeError;
import dev.gdn.kernels.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The whole forward pass on the GPU: every FLA model fixture (logits, pieces, final memories) with
 * fp32 matrix products within 1e-4 and tf32 ones within 1e-2; bf16 ones against the CPU on the same
 * rounded weights; the CPU's results on varlen batches and decode steps; batch invariance.
 */
@Tag("gpu")
@Timeout(600)
class CudaForwardTest {
    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    static List<String> models() {
        return Fixtures.modelNames();
    }

    private static GatedDeltaNetModel onGpu(GatedDeltaNetModel cpu, MatmulPrecision p, int maxRows) {
        return cpu.withEngine(new CudaForward(new CudaDevice(0), cpu, p, maxRows));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void fixturesMatchFlaWithFp32Matmuls(String name) {
        checkFixture(name, MatmulPrecision.FP32, 1e-4);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void fixturesMatchFlaWithinOneInAHundredWithTf32Matmuls(String name) {
        checkFixture(name, MatmulPrecision.TF32, 1e-2);
    }

    /** The tensor-core chunkwise rule in 3xTF32 keeps the model logits tolerance (1e-4) with fp32 matmuls. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void fixturesMatchFlaWithTheThreeTf32ChunkwiseRule(String name) {
        checkFixture(name, MatmulPrecision.FP32, ChunkPrecision.TF32X3, 1e-4);
    }

    /**
     * The bf16 tensor-core chunkwise rule on the fixture models: within 2e-2 of FLA's fp32 logits, the
     * bound the bf16 weight test below also holds them to. The rule itself lands ~3.5e-3 from the fp64
     * oracle on every op fixture (better than FLA's bf16 chunk kernel, ~4.7e-3; see
     * CudaChunkedGatedDeltaRuleTest), but these small random models amplify a perturbation of their
     * activations about a hundredfold in their logits, so no bf16 rule keeps them within 1e-2; on an
     * FLA-1B-shaped model the same rule with bf16 products stays within 1e-2 (the test above).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void fixturesMatchFlaWithinTwoInAHundredWithTheBf16ChunkwiseRule(String name) {
        checkFixture(name, MatmulPrecision.FP32, ChunkPrecision.BF16, 2e-2);
    }

    private static void checkFixture(String name, MatmulPrecision p, double tol) {
        checkFixture(name, p, ChunkPrecision.FP32, tol);
    }

    /** Logits (one pass and the manifest's pieces) and final memories against FLA within {@code tol}. */
    private static void checkFixture(String name, MatmulPrecision p, ChunkPrecision cp, double tol) {
        Path dir = Fixtures.model(name);
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(dir, CpuKernels.fast());
        CudaForward engine = new CudaForward(new CudaDevice(0), cpu, p, cp, 4096);
        GatedDeltaNetModel gpu = cpu.withEngine(engine);
        try {
            ParityReport r = ModelParity.check(gpu, dir.resolve("expected.safetensors"), Fixtures.manifestPieces(name),
                    tol);
            r.lines().forEach(l -> System.out.println(name + " " + engine.name() + " " + l));
            assertThat(r.lines()).hasSizeGreaterThan(2);
            assertThat(r.lines()).allSatisfy(l -> assertThat(l.pass()).as(l.toString()).isTrue());
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }

    /**
     * bf16 products and activations with the bf16 chunkwise rule (FLA's precision class) on an
     * FLA-1B-shaped model (2 layers, bf16-rounded random weights): logits within the bf16 tolerance
     * (1e-2) of the CPU's fp32 forward of the same weights, over multi-token runs and a decode step.
     */
    @Test
    void bf16MatmulsAndRuleStayWithinTheBf16ToleranceOnAnFla1bShapedModel() {
        var c = dev.gdn.kernels.model.RandomWeights.fla1b(2);
        GatedDeltaNetModel cpu = new GatedDeltaNetModel(c,
                dev.gdn.kernels.model.RandomWeights.roundToBf16(dev.gdn.kernels.model.RandomWeights.of(c, 1)),
                CpuKernels.fast());
        CudaForward engine = new CudaForward(new CudaDevice(0), cpu, MatmulPrecision.BF16, ChunkPrecision.BF16, 4096);
        try {
            double err = CudaModelParity.logitsError(cpu, cpu.withEngine(engine));
            System.out.printf("FLA-1B shape, 2 layers, %s: logits %.3e from the CPU%n", engine.name(), err);
            assertThat(err).isLessThanOrEqualTo(1e-2);
        } finally {
            engine.close();
        }
    }

    /**
     * bf16 weights with split activations: the GPU stays within the bf16 tolerance (1e-2) of the CPU
     * running the same bf16-rounded weights in fp32; the distances of both to FLA's fp32 logits (the
     * weights' rounding) are printed. These small random models amplify perturbations: 1e-5 in the
     * activations shows as about 1e-3 in their logits.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void bf16WeightMatmulsMatchTheCpuOnTheSameRoundedWeights(String name) {
        Path dir = Fixtures.model(name);
        GatedDeltaNetModel rounded = GatedDeltaNetModel.load(dir, CpuKernels.fast());
        for (float[] t : rounded.weights().tensors()) {
            if (t != null) {
                for (int i = 0; i < t.length; i++) {
                    t[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(t[i]));
                }
            }
        }
        GatedDeltaNetModel gpu = onGpu(rounded, MatmulPrecision.BF16_WEIGHTS, 4096);
        try {
            Path expected = dir.resolve("expected.safetensors");
            int[] ids;
            int b;
            int t;
            float[] fla;
            try (SafetensorsFile f = SafetensorsFile.open(expected)) {
                ids = f.ints("input_ids");
                b = (int) f.info("input_ids").shape()[0];
                t = (int) f.info("input_ids").shape()[1];
                fla = f.floats("logits");
            }
            float[] g = onePass(gpu, ids, b, t);
            float[] c = onePass(rounded, ids, b, t);
            double gpuVsCpu = assertClose(name + " bf16 GPU vs CPU on the same weights", g, c, 1e-2).value();
            double gpuVsFla = RelativeError.of(g, fla).value();
            double cpuVsFla = RelativeError.of(c, fla).value();
            System.out.printf("%s bf16 weights: GPU vs CPU %.2e; vs FLA fp32 logits: GPU %.3e, CPU %.3e%n", name,
                    gpuVsCpu, gpuVsFla, cpuVsFla);
            ParityReport r = ModelParity.check(gpu, expected, Fixtures.manifestPieces(name), 2e-2);
            r.lines().forEach(l -> System.out.println(name + " bf16 " + l));
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }

    private static float[] onePass(GatedDeltaNetModel m, int[] ids, int b, int t) {
        List<StreamInput> batch = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            batch.add(new StreamInput(m.newMemory(), java.util.Arrays.copyOfRange(ids, i * t, (i + 1) * t)));
        }
        return m.forward(batch).logits();
    }

    /**
     * Streams of 1 to 130 tokens in one batch, then one-token steps (the later ones replayed as a CUDA
     * graph): GPU = CPU within 1e-4.
     */
    static List<String> modelsAndH2() {
        List<String> all = new ArrayList<>(models());
        all.add("h2-tiny");
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modelsAndH2")
    void varlenBatchesAndDecodeStepsMatchTheCpu(String name) {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model(name), CpuKernels.fast());
        // 70 rows per pass: the 130-token stream runs alone, the others are grouped
        GatedDeltaNetModel gpu = onGpu(cpu, MatmulPrecision.FP32, 70);
        try {
            int[] lengths = {1, 3, 64, 65, 130, 2};
            Random rnd = new Random(5);
            List<StreamMemory> cm = new ArrayList<>();
            List<StreamMemory> gm = new ArrayList<>();
            for (int i = 0; i < lengths.length; i++) {
                cm.add(cpu.newMemory());
                gm.add(gpu.newMemory());
            }
            for (int round = 0; round < 6; round++) {
                List<StreamInput> cb = new ArrayList<>();
                List<StreamInput> gb = new ArrayList<>();
                for (int i = 0; i < lengths.length; i++) {
                    int[] toks = new int[round == 0 ? lengths[i] : 1];
                    for (int t = 0; t < toks.length; t++) {
                        toks[t] = rnd.nextInt(cpu.config().vocabSize());
                    }
                    cb.add(new StreamInput(cm.get(i), toks));
                    gb.add(new StreamInput(gm.get(i), toks.clone()));
                }
                ForwardResult c = cpu.forward(cb);
                ForwardResult g = gpu.forward(gb);
                assertClose(name + " round " + round + " logits", g.logits(), c.logits(), 1e-4);
                assertClose(name + " round " + round + " hidden", g.hidden(), c.hidden(), 1e-4);
                assertClose(name + " round " + round + " LM head on rows", gpu.logits(g.hidden(), 1, 2),
                        cpu.logits(g.hidden(), 1, 2), 1e-4);
            }
            assertThat(((CudaForward) gpu.engine().orElseThrow()).graphsCaptured()).as("graphs captured").isPositive();
            for (int i = 0; i < lengths.length; i++) {
                assertThat(gm.get(i).tokensConsumed()).isEqualTo(cm.get(i).tokensConsumed());
                for (int l = 0; l < cpu.config().numLayers(); l++) {
                    var a = gm.get(i).layer(l);
                    var b = cm.get(i).layer(l);
                    if (a instanceof dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory da) {
                        var db = (dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory) b;
                        assertClose(name + " stream " + i + " layer " + l + " state", da.state(), db.state(), 1e-4);
                        assertClose(name + " stream " + i + " layer " + l + " convV", da.convV(), db.convV(), 1e-4);
                    } else if (a instanceof dev.gdn.kernels.layers.mamba2.Mamba2LayerMemory ma) {
                        var mb = (dev.gdn.kernels.layers.mamba2.Mamba2LayerMemory) b;
                        assertClose(name + " stream " + i + " layer " + l + " ssm", ma.ssm(), mb.ssm(), 1e-4);
                        assertClose(name + " stream " + i + " layer " + l + " conv", ma.conv(), mb.conv(), 1e-4);
                    } else {
                        var aa = (dev.gdn.kernels.layers.attention.AttentionLayerMemory) a;
                        var ab = (dev.gdn.kernels.layers.attention.AttentionLayerMemory) b;
                        assertThat(aa.position()).isEqualTo(ab.position());
                        assertClose(name + " stream " + i + " layer " + l + " keys", aa.keys(), ab.keys(), 1e-4);
                    }
                }
            }
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }

    /**
     * A stream's logits do not change with the batch around it beyond rounding. The custom kernels
     * are bitwise invariant by construction; cuBLAS picks its algorithm by row count, which moves the
     * last bits of a projection (measured on an H200: up to 1.7e-6 relative in the logits), so the
     * whole model is asserted within 1e-5 and the measured difference printed.
     */
    @Test
    void aStreamsResultsDoNotDependOnItsBatch() {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model("h1-swa"), CpuKernels.fast());
        GatedDeltaNetModel gpu = onGpu(cpu, MatmulPrecision.FP32, 4096);
        try {
            Random rnd = new Random(9);
            int[] mine = rnd.ints(20, 0, cpu.config().vocabSize()).toArray();
            float[] alone = gpu.forward(List.of(new StreamInput(gpu.newMemory(), mine))).logits();
            for (int others : new int[] {1, 7, 63}) {
                List<StreamInput> batch = new ArrayList<>();
                for (int i = 0; i < others; i++) {
                    batch.add(new StreamInput(gpu.newMemory(), rnd.ints(1 + rnd.nextInt(40), 0,
                            cpu.config().vocabSize()).toArray()));
                }
                batch.add(others / 2, new StreamInput(gpu.newMemory(), mine));
                float[] inBatch = gpu.forward(batch).logitsOf(others / 2);
                double err = RelativeError.of(inBatch, alone).value();
                System.out.printf("batch invariance with %d other streams: %s (rel err %.2e)%n", others,
                        java.util.Arrays.equals(inBatch, alone) ? "bitwise equal" : "differs", err);
                assertThat(err).isLessThanOrEqualTo(1e-5);
            }
        } finally {
            gpu.engine().orElseThrow().close();
        }
    }

    @Test
    void backendsFallBackOrRunOnTheGpu() {
        GatedDeltaNetModel cpu = GatedDeltaNetModel.load(Fixtures.model("gdn-tiny"), CpuKernels.fast());
        List<String> info = new ArrayList<>();
        GatedDeltaNetModel auto = Backends.apply(cpu, "auto", MatmulPrecision.FP32, info::add);
        try {
            assertThat(auto.engine()).isPresent();
            assertThat(auto.backendName()).startsWith("cuda (sm_");
            assertThat(info).isEmpty();
        } finally {
            auto.engine().orElseThrow().close();
        }
    }
}
