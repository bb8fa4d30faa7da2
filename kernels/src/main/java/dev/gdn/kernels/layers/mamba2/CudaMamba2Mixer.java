package dev.gdn.kernels.layers.mamba2;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.CudaDevice;
import dev.gdn.kernels.cuda.CudaMemoryPool;
import dev.gdn.kernels.cuda.CudaPass;
import dev.gdn.kernels.cuda.CudaProducts;
import dev.gdn.kernels.cuda.CudaTokenMixer;
import dev.gdn.kernels.cuda.DeviceMatrix;
import dev.gdn.kernels.cuda.DeviceScratch;
import dev.gdn.kernels.cuda.LaunchArgs;
import java.util.Optional;
import org.bytedeco.cuda.cudart.CUfunc_st;

/**
 * The Mamba2 mixer of an H2 hybrid on the GPU ({@code mamba2.cu}), the CUDA form of the CPU's Mamba2
 * mixer: in_proj (cuBLAS) into {@code zxbcdt [rows, I + C + H]}; the causal convolution of the x, B, C
 * channels with bias and SiLU over the pool's caches; dt = softplus(dt + bias) and the decays
 * e^(dt A) for all rows at once; the selective scan, the state advanced in place in registers, the next
 * token's inputs loaded while the current one computes; the SiLU gate and grouped RMSNorm; out_proj.
 * Pool parts: ssm {@code [H, P, N]}, conv {@code [Kc - 1, C]}.
 *
 * <p>The chunked (SSD) form ({@link Kernels#chunked}) is exact too (tested against the same CPU
 * recurrence) but does more arithmetic per token than the register-resident recurrence and, with one
 * block per stream and head like it, gains no parallelism; measured slower at every run length, so the
 * engine runs every length through the recurrence (figures in docs/BENCHMARKS.md).
 */
public final class CudaMamba2Mixer implements CudaTokenMixer {
    public static final String SOURCE = "/dev/gdn/kernels/layers/mamba2/mamba2.cu";
    /** Largest state elements one scan thread holds in registers. */
    private static final int MAX_ELEMS_PER_THREAD = 64;
    /** Static shared memory a block of the chunked scan may use. */
    private static final int SHARED_LIMIT = 48 * 1024;

    private final Mamba2Config m;
    private final DeviceMatrix inProj;
    private final DeviceMatrix outProj;
    private final long conv;
    private final long convBias;
    private final long dtBias;
    private final long negA;
    private final long dSkip;
    private final long norm;
    private final Kernels k;

    /**
     * The device arrays of a selective scan.
     *
     * @param xbc     {@code [rows, C]} the activated convolution output (x, B, C per row)
     * @param dt      {@code [rows, H]} after the softplus ({@link Kernels#dt})
     * @param decay   {@code [rows, H]} e^(dt A)
     * @param negA    {@code [H]} A = -exp(A_log)
     * @param dSkip   {@code [H]} D
     * @param state   {@code [slots, H, P, N]}, advanced in place
     * @param slots   {@code [S]} int, each stream's slot
     * @param offsets {@code [S + 1]} int, stream row offsets
     * @param y       {@code [rows, I]} the scan's output
     */
    public record ScanArrays(long xbc, long dt, long decay, long negA, long dSkip, long state, long slots, long offsets,
            long y) {
    }

    /** The compiled kernels of one Mamba2 shape and their block size (shared by the model's Mamba2 layers). */
    public record Kernels(CUfunc_st conv, CUfunc_st dtKernel, CUfunc_st scan, CUfunc_st chunk, CUfunc_st gateNorm, int threads,
            LaunchArgs args, Mamba2Config config, int blocks) {

        /**
         * {@code dt [rows, H] = softplus(raw + dtBias)} and {@code decay = e^(dt negA)}, raw at column
         * {@code dtCol} of {@code zxbcdt [rows, proj]}.
         */
        public void dt(long zxbcdt, int proj, int dtCol, long dtBias, long negA, long dt, long decay, int rows) {
            args.reset().add(zxbcdt).addInt(proj).addInt(dtCol).add(dtBias).add(negA).add(dt).add(decay).addInt(rows)
                    .addInt(config.numHeads()).launch(dtKernel, blocks, 1, 1, 256, 1, 1, 0);
        }

        /** The exact recurrence for the {@code streams} streams whose runs have {@code [minLen, maxLen]} tokens. */
        public void scan(ScanArrays a, int streams, int minLen, int maxLen) {
            args.reset().add(a.xbc()).add(a.dt()).add(a.decay()).add(a.negA()).add(a.dSkip())
                    .add(a.state()).add(a.slots()).add(a.offsets()).add(a.y()).addInt(config.numHeads())
                    .addInt(config.groups()).addInt(minLen).addInt(maxLen)
                    .launch(scan, config.numHeads(), streams, 1, threads, 1, 1, 0);
        }

        /** The chunked form for the {@code streams} streams whose runs have at least {@code minLen} tokens. */
        public void chunked(ScanArrays a, int streams, int minLen) {
            args.reset().add(a.xbc()).add(a.dt()).add(a.decay()).add(a.negA()).add(a.dSkip())
                    .add(a.state()).add(a.slots()).add(a.offsets()).add(a.y()).addInt(config.numHeads())
                    .addInt(config.groups()).addInt(minLen)
                    .launch(chunk, config.numHeads(), streams, 1, threads, 1, 1, 0);
        }

        /** Tokens per chunk of {@link #chunked}. */
        public int chunkTokens() {
            return shape(config).chunk;
        }

        /** The compile definitions of one Mamba2 shape (what {@link KernelBuilds} compiles too). */
        public static String[] options(Mamba2Config m) {
            Shape s = shape(m);
            return new String[] {"-DP_DIM=" + m.headDim(), "-DN_DIM=" + m.stateSize(), "-DTPR=" + s.tpr,
                "-DTHREADS=" + s.threads, "-DKC=" + m.convKernel(), "-DCHUNK_T=" + s.chunk};
        }

        public static Kernels compile(CudaDevice device, Mamba2Config m) {
            Shape s = shape(m);
            String[] opts = options(m);
            return new Kernels(device.function(SOURCE, "mamba2_conv", opts), device.function(SOURCE, "mamba2_dt", opts),
                    device.function(SOURCE, "mamba2_scan", opts), device.function(SOURCE, "mamba2_chunk", opts),
                    device.function(SOURCE, "mamba2_gate_norm", opts), s.threads, new LaunchArgs(device), m,
                    4 * device.multiprocessors());
        }
    }

    private record Shape(int tpr, int threads, int chunk) {
    }

    /**
     * The scans' thread layout for a head's state {@code [P, N]}: TPR threads share a state row (N / TPR
     * columns each; TPR the largest of 8, 4, 2, 1 dividing N: few shuffles per row sum, 32-byte runs per
     * access), THREADS / TPR rows per pass; and the largest chunk (64, 32 or 16 tokens) whose shared
     * arrays fit.
     */
    private static Shape shape(Mamba2Config m) {
        int p = m.headDim();
        int n = m.stateSize();
        int tpr = Integer.lowestOneBit(n | 8);
        int threads = Math.min(128, p * tpr);
        for (int t : new int[] {64, 32, 16}) {
            long shared = 4L * (2L * t * p + 2L * t * n + (long) t * t + 3L * t) + 8L * t + 4;
            if (shared <= SHARED_LIMIT) {
                return new Shape(tpr, threads, t);
            }
        }
        return new Shape(tpr, threads, 0);
    }

    /** Why these kernels cannot run a Mamba2 layer of this config, if they cannot. */
    public static Optional<String> unsupportedReason(Mamba2Config m) {
        int p = m.headDim();
        int n = m.stateSize();
        Shape s = shape(m);
        int rowsPerPass = s.threads / s.tpr;
        if (p % rowsPerPass != 0) {
            return Optional.of("mamba2 head_dim " + p + " is not a multiple of " + rowsPerPass);
        }
        if ((long) p * n / s.threads > MAX_ELEMS_PER_THREAD) {
            return Optional.of("mamba2 head state " + p + "x" + n + " is above the CUDA scan's "
                    + MAX_ELEMS_PER_THREAD * s.threads + " elements");
        }
        if (s.chunk == 0) {
            return Optional.of("mamba2 head_dim " + p + " and state_size " + n
                    + " leave no chunk of 16 tokens within the chunked scan's shared memory");
        }
        if (m.convKernel() < 1 || m.convKernel() > 16) {
            return Optional.of("mamba2 conv_kernel " + m.convKernel() + " is outside [1, 16] for the CUDA kernels");
        }
        return Optional.empty();
    }

    CudaMamba2Mixer(CudaDevice device, CudaProducts products, ModelConfig c, Mamba2Weights w, Kernels kernels) {
        this.m = Mamba2Config.of(c).orElseThrow();
        this.k = kernels;
        float[] minusA = new float[m.numHeads()];
        for (int h = 0; h < minusA.length; h++) {
            minusA[h] = (float) -Math.exp(w.aLog()[h]);
        }
        this.inProj = products.matrix(w.inProj(), m.inProjRows(), c.hiddenSize());
        this.outProj = products.matrix(w.outProj(), c.hiddenSize(), m.innerDim());
        this.conv = device.floats(w.conv());
        this.convBias = device.floats(w.convBias());
        this.dtBias = device.floats(w.dtBias());
        this.negA = device.floats(minusA);
        this.dSkip = device.floats(w.d());
        this.norm = device.floats(w.norm());
    }

    @Override
    public void mix(CudaPass p, int layer, long x, long y) {
        DeviceScratch scratch = p.scratch();
        CudaProducts mm = p.products();
        CudaMemoryPool pool = p.pool();
        int rows = p.rows();
        int n = p.streams();
        int inner = m.innerDim();
        int channels = m.convDim();
        int proj = m.inProjRows();
        long zxbcdt = scratch.get("m2_zxbcdt", 4L * rows * proj);
        long xbc = scratch.get("m2_xbc", 4L * rows * channels);
        long u = scratch.get("m2_u", 4L * rows * inner);
        long dt = scratch.get("m2_dt", 4L * rows * m.numHeads());
        long decay = scratch.get("m2_decay", 4L * rows * m.numHeads());
        mm.prepare(x, rows, p.config().hiddenSize());
        mm.linear(x, rows, inProj, zxbcdt);
        k.args().reset().add(zxbcdt).addInt(proj).addInt(inner).add(conv).add(convBias).add(pool.part(layer, 1))
                .add(p.slots()).add(p.offsets()).add(xbc).addInt(channels)
                .launch(k.conv(), (channels + 127) / 128, n, 1, 128, 1, 1, 0);
        k.dt(zxbcdt, proj, inner + channels, dtBias, negA, dt, decay, rows);
        ScanArrays scan = new ScanArrays(xbc, dt, decay, negA, dSkip, pool.part(layer, 0), p.slots(), p.offsets(), u);
        // every run length by the recurrence: on an H200 it is 3.8x faster than the chunked kernel on
        // 64-token pieces and on 4,096-token prefills (benchmarks/: CudaMamba2Bench), so the engine does
        // not route to it
        k.scan(scan, n, 1, Integer.MAX_VALUE);
        k.args().reset().add(u).add(zxbcdt).addInt(proj).add(norm).addInt(inner).addInt(m.groups())
                .addFloat(m.normEps()).launch(k.gateNorm(), rows * m.groups(), 1, 1, 128, 1, 1, 0);
        mm.prepare(u, rows, inner);
        mm.linear(u, rows, outProj, y);
    }
}
