package dev.gdn.kernels.cuda;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.deltarule.ChunkStages;
import dev.gdn.kernels.deltarule.DeltaRuleInputs;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.parity.OpParity;
import dev.gdn.kernels.parity.RelativeError;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The chunkwise kernels, each precision against the double-precision reference on the device: fp32 and
 * 3xTF32 within the chunked fp32 tolerance (1e-4), bf16 within the bf16 one (1e-2).
 */
@Tag("gpu")
@Timeout(300)
class CudaChunkedGatedDeltaRuleTest {

    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    static double tolerance(ChunkPrecision p) {
        return p == ChunkPrecision.BF16 ? 1e-2 : 1e-4;
    }

    /**
     * The preparation stage alone: every intermediate it leaves for the recurrence (-W, Qg, Kt, U, M, e^gam)
     * against its CPU counterpart ({@link ChunkStages#prepare}, double precision), each stream and value head,
     * runs ending before, on and after chunk boundaries; e^gam within 1e-6, the rest within the operands'
     * precision (3xTF32 1e-4; bf16 operands rounded to bf16, 1e-2).
     */
    @ParameterizedTest
    @EnumSource(value = ChunkPrecision.class, names = {"TF32X3", "BF16"})
    void thePreparationStagesIntermediatesMatchTheirCpuCounterpart(ChunkPrecision p) {
        DeltaRuleShape shape = new DeltaRuleShape(2, 4, 64, 128);
        int[] lengths = {1, 63, 64, 65, 0, 130};
        try (CudaDevice d = new CudaDevice(0); CudaChunkedGatedDeltaRule chunk = new CudaChunkedGatedDeltaRule(d, shape, p)) {
            CudaStepHarness h = new CudaStepHarness(shape, lengths, 43);
            float[][] gpu = h.gpuPrepared(d, chunk);
            int hv = shape.valueHeads();
            int kd = shape.keyDim();
            int vd = shape.valueDim();
            String[] names = {"-W", "Qg", "Kt", "U", "M", "e^gam"};
            float[][] got = new float[6][];
            float[][] want = new float[6][];
            int[] widths = {kd, kd, kd, vd, 64, 1};
            for (int x = 0; x < 6; x++) {
                got[x] = new float[h.rows * hv * widths[x]];
                want[x] = new float[got[x].length];
            }
            for (int n = 0; n < h.streams; n++) {
                int r0 = h.offsets[n];
                int len = h.offsets[n + 1] - r0;
                DeltaRuleInputs in = new DeltaRuleInputs(shape, r0, len, h.q, h.k, h.v, h.g, h.beta, h.scale);
                for (int j = 0; j < hv; j++) {
                    ChunkStages.Prepared c = ChunkStages.prepare(in, j);
                    double[][] cpu = {c.w(), c.qg(), c.kt(), c.u(), c.m(), c.decay()};
                    for (int t = 0; t < len; t++) {
                        int inChunk = t % 64;
                        for (int x = 0; x < 6; x++) {
                            int w = widths[x];
                            int dst = ((r0 + t) * hv + j) * w;
                            for (int a = 0; a < w; a++) {
                                if (x == 4 && a > inChunk) {
                                    continue; // M is lower with its diagonal; above it the kernel leaves what it likes
                                }
                                got[x][dst + a] = gpu[x][dst + a];
                                want[x][dst + a] = (float) ((x == 0 ? -1 : 1) * cpu[x][t * w + a]);
                            }
                        }
                    }
                }
            }
            for (int x = 0; x < 6; x++) {
                System.out.printf("prepare %s %s: %.2e%n", p.label(), names[x], RelativeError.of(got[x], want[x]).value());
            }
            for (int x = 0; x < 6; x++) {
                assertClose(p.label() + " " + names[x], got[x], want[x], x == 5 ? 1e-6 : tolerance(p));
            }
        }
    }

    /**
     * The recurrence stage's state after each chunk: runs cut at 64, 128, 192 and 200 tokens against the CPU
     * counterpart's chunk states ({@link ChunkStages#recur}), within the precision's tolerance.
     */
    @ParameterizedTest
    @EnumSource(value = ChunkPrecision.class, names = {"TF32X3", "BF16"})
    void theStateAfterEachChunkMatchesTheCpuCounterpart(ChunkPrecision p) {
        DeltaRuleShape shape = new DeltaRuleShape(1, 2, 64, 64);
        CudaStepHarness whole = new CudaStepHarness(shape, new int[] {200}, 47);
        float[] start = java.util.Arrays.copyOfRange(whole.pool, whole.slots[0] * shape.stateSize(),
                (whole.slots[0] + 1) * shape.stateSize());
        DeltaRuleInputs in = new DeltaRuleInputs(shape, 0, 200, whole.q, whole.k, whole.v, whole.g, whole.beta, whole.scale);
        java.util.List<java.util.List<double[]>> cpuStates = new java.util.ArrayList<>();
        for (int j = 0; j < shape.valueHeads(); j++) {
            double[] st = new double[shape.headStateSize()];
            for (int i = 0; i < st.length; i++) {
                st[i] = start[j * shape.headStateSize() + i];
            }
            cpuStates.add(ChunkStages.recur(ChunkStages.prepare(in, j), st, new double[200 * shape.valueDim()]));
        }
        try (CudaDevice d = new CudaDevice(0)) {
            int[] cuts = {64, 128, 192, 200};
            for (int x = 0; x < cuts.length; x++) {
                DeltaRuleInputs prefix = new DeltaRuleInputs(shape, 0, cuts[x], whole.q, whole.k, whole.v, whole.g,
                        whole.beta, whole.scale);
                float[] state = start.clone();
                new CudaRuleAdapter(d, p).forward(prefix, state, 0, new float[cuts[x] * shape.vRowSize()]);
                float[] want = new float[state.length];
                for (int j = 0; j < shape.valueHeads(); j++) {
                    double[] c = cpuStates.get(j).get(x);
                    for (int i = 0; i < c.length; i++) {
                        want[j * shape.headStateSize() + i] = (float) c[i];
                    }
                }
                System.out.printf("state after chunk %d (%s): %.2e%n", x, p.label(), RelativeError.of(state, want).value());
                assertClose(p.label() + " state after chunk " + x, state, want, tolerance(p));
            }
        }
    }

    /** Varlen runs that end before, on and after chunk boundaries of both chunk sizes (32 and 64). */
    @ParameterizedTest
    @EnumSource(ChunkPrecision.class)
    void varlenRunsAcrossChunkBoundaries(ChunkPrecision p) {
        for (DeltaRuleShape shape : new DeltaRuleShape[] {new DeltaRuleShape(2, 4, 64, 64),
            new DeltaRuleShape(1, 1, 128, 128), new DeltaRuleShape(2, 2, 256, 512)}) {
            try (CudaDevice d = new CudaDevice(0);
                    CudaChunkedGatedDeltaRule chunk = new CudaChunkedGatedDeltaRule(d, shape, p)) {
                CudaStepHarness h = new CudaStepHarness(shape, new int[] {1, 31, 32, 33, 0, 63, 64, 65, 129, 257}, 29);
                float[][] ref = h.reference();
                float[][] got = h.gpuChunked(d, chunk);
                System.out.printf("chunk kernel %s %s: o %.2e, states %.2e%n", p.label(), shape,
                        RelativeError.of(got[0], ref[0]).value(), RelativeError.of(got[1], ref[1]).value());
                assertClose(p.label() + " " + shape + " o", got[0], ref[0], tolerance(p));
                assertClose(p.label() + " " + shape + " state pool", got[1], ref[1], tolerance(p));
            }
        }
    }

    /**
     * The tensor-core recurrence with 16, 32 and 64 value columns a block, in its chosen layout, with the
     * state in shared memory and Kt sharing -W's buffer, and with the state in registers at one block a
     * multiprocessor (Kt in its own buffer where it fits), against the reference; layouts that do not fit a
     * block's shared memory are left out by the layout's own size.
     */
    @ParameterizedTest
    @EnumSource(value = ChunkPrecision.class, names = {"TF32X3", "BF16"})
    void everyTileWidthGivesTheReferenceResults(ChunkPrecision p) {
        for (DeltaRuleShape shape : new DeltaRuleShape[] {new DeltaRuleShape(2, 4, 64, 128),
            new DeltaRuleShape(1, 2, 256, 128)}) {
            for (int tile : new int[] {16, 32, 64}) {
                for (String[] layout : new String[][] {{}, {"-DSTATE_REGS=0", "-DKT_BUFFER=0", "-DMIN_BLOCKS=1"},
                    {"-DSTATE_REGS=1", "-DMIN_BLOCKS=1"}}) {
                if (!CudaChunkedGatedDeltaRule.supports(shape, p, tile) || CudaChunkedGatedDeltaRule.RecurLayout.choose(
                        shape.keyDim(), p, tile, 228 * 1024, layout).sharedBytes() > 220 * 1024) {
                    System.out.printf("%s %s tile %d %s: beyond a block's shared memory%n", p.label(), shape, tile,
                            Arrays.toString(layout));
                    continue;
                }
                try (CudaDevice d = new CudaDevice(0); CudaChunkedGatedDeltaRule chunk =
                        new CudaChunkedGatedDeltaRule(d, shape, p, StatePrecision.FP32, tile, layout)) {
                    for (int[] lengths : new int[][] {{1, 31, 64, 0, 17}, {1, 31, 64, 65, 200, 0, 129}}) {
                        CudaStepHarness h = new CudaStepHarness(shape, lengths, 11 + tile);
                        float[][] ref = h.reference();
                        float[][] got = h.gpuChunked(d, chunk);
                        String what = p.label() + " " + shape + " tile " + tile + " " + Arrays.toString(layout)
                                + " runs " + Arrays.toString(lengths);
                        System.out.printf("%s: o %.2e, states %.2e%n", what, RelativeError.of(got[0], ref[0]).value(),
                                RelativeError.of(got[1], ref[1]).value());
                        assertClose(what + " o", got[0], ref[0], tolerance(p));
                        assertClose(what + " state pool", got[1], ref[1], tolerance(p));
                    }
                }
                }
            }
        }
    }

    /**
     * 16, 32 or 64 value columns a block and 8 or 16 warps: each output and state tile is the same sum in the
     * same order, so the results are bitwise the same.
     */
    @ParameterizedTest
    @EnumSource(value = ChunkPrecision.class, names = {"TF32X3", "BF16"})
    void everyTileWidthAndWarpCountGivesBitwiseTheSameResults(ChunkPrecision p) {
        DeltaRuleShape shape = new DeltaRuleShape(2, 2, 128, 128);
        int[] lengths = {1, 64, 65, 200, 0, 129};
        String[][] layouts = {{"32"}, {"16"}, {"64", "-DRECUR_WARPS=16"}, {"64", "-DRECUR_WARPS=8"},
            {"32", "-DRECUR_WARPS=16"}};
        float[][][] got = new float[layouts.length][][];
        for (int i = 0; i < layouts.length; i++) {
            try (CudaDevice d = new CudaDevice(0); CudaChunkedGatedDeltaRule chunk = new CudaChunkedGatedDeltaRule(d,
                    shape, p, StatePrecision.FP32, Integer.parseInt(layouts[i][0]),
                    Arrays.copyOfRange(layouts[i], 1, layouts[i].length))) {
                got[i] = new CudaStepHarness(shape, lengths, 7).gpuChunked(d, chunk);
            }
            assertThat(got[i][0]).as(Arrays.toString(layouts[i]) + " o").containsExactly(got[0][0]);
            assertThat(got[i][1]).as(Arrays.toString(layouts[i]) + " state pool").containsExactly(got[0][1]);
        }
    }

    /** The state between chunks in registers or in shared memory: the same products in the same order. */
    @ParameterizedTest
    @EnumSource(value = ChunkPrecision.class, names = {"TF32X3", "BF16"})
    void stateInRegistersOrInSharedMemoryGivesBitwiseTheSameResults(ChunkPrecision p) {
        DeltaRuleShape shape = new DeltaRuleShape(2, 2, 128, 128);
        int[] lengths = {1, 64, 65, 200, 0, 129};
        float[][][] got = new float[2][][];
        for (int regs = 0; regs < 2; regs++) {
            try (CudaDevice d = new CudaDevice(0); CudaChunkedGatedDeltaRule chunk = new CudaChunkedGatedDeltaRule(d,
                    shape, p, StatePrecision.FP32, 32, "-DSTATE_REGS=" + regs, "-DMIN_BLOCKS=1")) {
                got[regs] = new CudaStepHarness(shape, lengths, 5).gpuChunked(d, chunk);
            }
        }
        assertThat(got[1][0]).as("o").containsExactly(got[0][0]);
        assertThat(got[1][1]).as("state pool").containsExactly(got[0][1]);
    }

    /** Every FLA op fixture the kernel's shapes cover; FLA's own chunk kernel lands ~1.5e-3 (fp32) from them. */
    @ParameterizedTest
    @EnumSource(ChunkPrecision.class)
    void everyFlaOpFixture(ChunkPrecision p) {
        int[] checked = {0};
        try (CudaDevice d = new CudaDevice(0)) {
            dev.gdn.kernels.testing.Fixtures.opCases().forEach(file -> {
                OpParity.Case c = OpParity.read(file);
                if (!CudaChunkedGatedDeltaRule.supports(c.shape(), p)) {
                    System.out.println(file.getFileName() + ": " + c.shape() + " is outside the " + p.label()
                            + " chunk kernel: the recurrent one serves it");
                    return;
                }
                float[][] out = c.run(new CudaRuleAdapter(d, p));
                System.out.printf("%s %s: o %.2e, ht %.2e%n", p.label(), file.getFileName(),
                        RelativeError.of(out[0], c.oRef()).value(), RelativeError.of(out[1], c.htRef()).value());
                assertClose(file.getFileName() + " " + p.label() + " o", out[0], c.oRef(), tolerance(p));
                assertClose(file.getFileName() + " " + p.label() + " ht", out[1], c.htRef(), tolerance(p));
                checked[0]++;
            });
        }
        assertThat(checked[0]).as("fixtures within the kernel's shapes").isGreaterThanOrEqualTo(2);
    }

    /**
     * Stream 0 (100 tokens) alone, then beside 1, 7 and 40 other streams of other lengths: its output
     * and state are bitwise the same.
     */
    @ParameterizedTest
    @EnumSource(ChunkPrecision.class)
    void aStreamsResultIsBitwiseTheSameAloneAndInABatch(ChunkPrecision p) {
        DeltaRuleShape shape = new DeltaRuleShape(2, 4, 128, 128);
        try (CudaDevice d = new CudaDevice(0);
                CudaChunkedGatedDeltaRule chunk = new CudaChunkedGatedDeltaRule(d, shape, p)) {
            for (int others : new int[] {1, 7, 40}) {
                int[] lengths = new int[others + 1];
                lengths[0] = 100;
                for (int i = 1; i <= others; i++) {
                    lengths[i] = 1 + (i * 37) % 300;
                }
                CudaStepHarness batch = new CudaStepHarness(shape, lengths, 5 + others);
                float[][] all = batch.gpuChunked(d, chunk);
                CudaStepHarness alone = new CudaStepHarness(shape, new int[] {100}, 99);
                int qk = 100 * shape.qkRowSize();
                System.arraycopy(batch.q, 0, alone.q, 0, qk);
                System.arraycopy(batch.k, 0, alone.k, 0, qk);
                System.arraycopy(batch.v, 0, alone.v, 0, 100 * shape.vRowSize());
                System.arraycopy(batch.g, 0, alone.g, 0, 100 * shape.valueHeads());
                System.arraycopy(batch.beta, 0, alone.beta, 0, 100 * shape.valueHeads());
                System.arraycopy(batch.pool, batch.slots[0] * shape.stateSize(), alone.pool,
                        alone.slots[0] * shape.stateSize(), shape.stateSize());
                float[][] one = alone.gpuChunked(d, chunk);
                assertThat(Arrays.copyOf(one[0], 100 * shape.vRowSize()))
                        .as("%s: stream 0's output alone and beside %d others", p.label(), others)
                        .containsExactly(Arrays.copyOf(all[0], 100 * shape.vRowSize()));
                assertThat(Arrays.copyOfRange(one[1], alone.slots[0] * shape.stateSize(),
                        (alone.slots[0] + 1) * shape.stateSize()))
                        .as("%s: stream 0's state alone and beside %d others", p.label(), others)
                        .containsExactly(Arrays.copyOfRange(all[1], batch.slots[0] * shape.stateSize(),
                                (batch.slots[0] + 1) * shape.stateSize()));
            }
        }
    }

    /** Streams shorter than minTokens are left to the recurrent kernel: neither their state nor their output is touched. */
    @ParameterizedTest
    @EnumSource(ChunkPrecision.class)
    void streamsBelowTheThresholdAreLeftUntouched(ChunkPrecision p) {
        DeltaRuleShape shape = new DeltaRuleShape(1, 2, 64, 64);
        try (CudaDevice d = new CudaDevice(0);
                CudaChunkedGatedDeltaRule chunk = new CudaChunkedGatedDeltaRule(d, shape, p)) {
            CudaStepHarness h = new CudaStepHarness(shape, new int[] {10, 80}, 3);
            long dq = d.allocate(4L * h.q.length);
            long dk = d.allocate(4L * h.k.length);
            long dv = d.allocate(4L * h.v.length);
            long dg = d.allocate(4L * h.g.length);
            long db = d.allocate(4L * h.beta.length);
            long doff = d.allocate(4L * h.offsets.length);
            long ds = d.allocate(4L * h.slots.length);
            long dp = d.allocate(4L * h.pool.length);
            long dout = d.allocate(4L * h.rows * shape.vRowSize());
            d.upload(dq, h.q);
            d.upload(dk, h.k);
            d.upload(dv, h.v);
            d.upload(dg, h.g);
            d.upload(db, h.beta);
            d.upload(doff, h.offsets);
            d.upload(ds, h.slots);
            d.upload(dp, h.pool);
            float[] sentinel = new float[h.rows * shape.vRowSize()];
            Arrays.fill(sentinel, 7f);
            d.upload(dout, sentinel);
            chunk.run(new DeltaRuleArrays(dq, dk, dv, dg, db, doff, ds, dp, dout), 2, h.rows, 80, h.scale, 32);
            d.synchronize();
            float[] out = new float[sentinel.length];
            float[] pool = new float[h.pool.length];
            d.download(out, dout);
            d.download(pool, dp);
            int s = shape.stateSize();
            assertThat(Arrays.copyOfRange(pool, h.slots[0] * s, (h.slots[0] + 1) * s))
                    .containsExactly(Arrays.copyOfRange(h.pool, h.slots[0] * s, (h.slots[0] + 1) * s));
            assertThat(Arrays.copyOf(out, 10 * shape.vRowSize())).containsOnly(7f);
            assertThat(Arrays.copyOfRange(pool, h.slots[1] * s, (h.slots[1] + 1) * s))
                    .isNotEqualTo(Arrays.copyOfRange(h.pool, h.slots[1] * s, (h.slots[1] + 1) * s));
        }
    }
}
