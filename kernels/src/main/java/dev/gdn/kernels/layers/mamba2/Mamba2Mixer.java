package dev.gdn.kernels.layers.mamba2;

import dev.gdn.kernels.layers.mamba2.Mamba2Config;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.ForwardResult;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.TokenMixer;
import dev.gdn.kernels.ops.Activations;
import dev.gdn.kernels.ops.Linear;
import dev.gdn.kernels.ops.ShortConvolution;
import dev.gdn.kernels.ssm.Mamba2Scan;
import java.util.List;

/**
 * The Mamba2 token mixer over a batch of streams (rows as in {@link ForwardResult}), inner width
 * I = H P, groups G of state size N:
 * <pre>
 *   z, xBC, dt = x W_in                        (I, I + 2GN, H)
 *   xBC = silu(conv(xBC) + b);  xs, B, C = xBC  (I -> [H, P], GN -> [G, N], GN -> [G, N])
 *   dt = softplus(dt + dt_bias);  A = -exp(A_log)
 *   per head h of group g:  S_h = e^(dt_h A_h) S_h + dt_h xs_h B_g^T;  y_h = S_h C_g + D_h xs_h
 *   u = y * silu(z), RMS-normalised in G groups of I / G channels, times the norm weight;  out = u W_out
 * </pre>
 * The scan ({@link Mamba2Scan}) runs from each stream's state, token by token or, for runs the CPU
 * kernels send to chunked forms, in 64-token chunks, so a stream may arrive in pieces of any size; every
 * per-stream computation depends on the stream's own run length only, never on the batch.
 */
final class Mamba2Mixer implements TokenMixer {
    private final Mamba2Config cfg;
    private final Mamba2Weights w;
    private final int hidden;
    private final float[] negA;
    private final Mamba2Scan scan;
    /** Tokens per chunk of the chunked scan. */
    static final int CHUNK = 64;

    Mamba2Mixer(Mamba2Config cfg, Mamba2Weights w, int hidden) {
        this.cfg = cfg;
        this.w = w;
        this.hidden = hidden;
        this.scan = new Mamba2Scan(cfg.numHeads(), cfg.headDim(), cfg.stateSize(), cfg.groups());
        this.negA = new float[cfg.numHeads()];
        for (int h = 0; h < negA.length; h++) {
            negA[h] = (float) -Math.exp(w.aLog()[h]);
        }
    }

    @Override
    public LayerMemory newMemory() {
        return Mamba2LayerMemory.zeros(cfg.stateFloats(), (cfg.convKernel() - 1) * cfg.convDim());
    }

    @Override
    public boolean fits(LayerMemory lm) {
        return lm instanceof Mamba2LayerMemory m && m.ssm().length == cfg.stateFloats()
                && m.conv().length == (cfg.convKernel() - 1) * cfg.convDim();
    }

    @Override
    public float[] forward(CpuKernels cpu, float[] x, int[] offsets, List<StreamInput> batch, int layer) {
        List<Mamba2LayerMemory> memories = TokenMixer.memories(batch, layer, Mamba2LayerMemory.class);
        var m = cpu.math();
        var par = cpu.parallel();
        int rows = offsets[offsets.length - 1];
        int inner = cfg.innerDim();
        int convDim = cfg.convDim();
        int heads = cfg.numHeads();
        int p = cfg.headDim();
        int n = cfg.stateSize();
        int groups = cfg.groups();
        int proj = cfg.inProjRows();
        float[] zxbcdt = Linear.apply(par, m, x, rows, hidden, w.inProj(), proj, null);
        // the convolution's channels as their own [rows, C] array
        float[] xbc = new float[rows * convDim];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(zxbcdt, r * proj + inner, xbc, r * convDim, convDim);
        }
        float[] dt = new float[rows * heads];
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                dt[r * heads + h] = Activations.softplus(zxbcdt[r * proj + inner + convDim + h] + w.dtBias()[h]);
            }
        }
        float[] u = new float[rows * inner];
        par.forEach(memories.size(), (long) (rows / Math.max(1, memories.size()) + 1) * (convDim * cfg.convKernel()
                + 3L * cfg.stateFloats()), s -> {
            Mamba2LayerMemory mem = memories.get(s);
            int r0 = offsets[s];
            int len = offsets[s + 1] - r0;
            ShortConvolution.applyInPlace(m, xbc, r0, len, convDim, w.conv(), w.convBias(), cfg.convKernel(), mem.conv());
            if (cpu.chunked(len, p * n)) {
                scan.chunked(m, xbc, dt, negA, w.d(), r0, len, CHUNK, mem.ssm(), u);
            } else {
                scan.recurrent(xbc, dt, negA, w.d(), r0, len, mem.ssm(), u);
            }
        });
        // gate with silu(z), then RMS-normalise each group of I / G channels
        int per = inner / groups;
        par.forEach(rows, 8L * inner, r -> {
            m.mulSilu(u, r * inner, zxbcdt, r * proj, inner);
            for (int g = 0; g < groups; g++) {
                int off = r * inner + g * per;
                float inv = (float) (1.0 / Math.sqrt(m.sumOfSquares(u, off, per) / per + cfg.normEps()));
                for (int i = 0; i < per; i++) {
                    u[off + i] = u[off + i] * inv * w.norm()[g * per + i];
                }
            }
        });
        return Linear.apply(par, m, u, rows, inner, w.outProj(), hidden, null);
    }
}
