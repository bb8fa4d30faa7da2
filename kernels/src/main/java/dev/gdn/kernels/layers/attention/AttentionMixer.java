package dev.gdn.kernels.layers.attention;

import dev.gdn.kernels.layers.attention.AttentionConfig;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.TokenMixer;
import dev.gdn.kernels.ops.Linear;
import dev.gdn.kernels.ops.RotaryEmbedding;
import java.util.List;

/**
 * Causal sliding-window softmax attention with RoPE and grouped kv heads, over a batch of streams.
 * Query t attends to the last W positions up to and including its own. Keys of earlier pieces come
 * from the stream's ring buffer, so any split of a sequence into pieces gives the same result as one
 * pass. RoPE uses positions relative to the oldest key in view (scores depend only on differences of
 * positions), which keeps fp32 angles small however long the stream.
 */
final class AttentionMixer implements TokenMixer {
    private final AttentionConfig cfg;
    private final AttentionWeights w;
    private final int hidden;
    private final RotaryEmbedding rope;

    AttentionMixer(AttentionConfig cfg, AttentionWeights w, int hidden) {
        this.cfg = cfg;
        this.w = w;
        this.hidden = hidden;
        this.rope = new RotaryEmbedding(cfg.headDim(), cfg.ropeTheta());
    }

    RotaryEmbedding rope() {
        return rope;
    }

    @Override
    public LayerMemory newMemory() {
        return AttentionLayerMemory.zeros(cfg.windowSize(), cfg.numKvHeads() * cfg.headDim());
    }

    @Override
    public boolean fits(LayerMemory lm) {
        return lm instanceof AttentionLayerMemory am && am.window() == cfg.windowSize()
                && am.rowSize() == cfg.numKvHeads() * cfg.headDim();
    }

    @Override
    public float[] forward(CpuKernels cpu, float[] x, int[] offsets, List<StreamInput> batch, int layer) {
        return forward(cpu, x, offsets, TokenMixer.memories(batch, layer, AttentionLayerMemory.class));
    }

    /**
     * @param x {@code [rows, D]} normed block input
     * @return {@code [rows, D]}
     */
    float[] forward(CpuKernels cpu, float[] x, int[] offsets, List<AttentionLayerMemory> memories) {
        var m = cpu.math();
        var par = cpu.parallel();
        int rows = offsets[offsets.length - 1];
        int hq = cfg.numHeads();
        int hkv = cfg.numKvHeads();
        int dh = cfg.headDim();
        int qRow = hq * dh;
        int kvRow = hkv * dh;
        float[] q = Linear.apply(par, m, x, rows, hidden, w.qProj(), qRow, w.qBias());
        float[] k = Linear.apply(par, m, x, rows, hidden, w.kProj(), kvRow, w.kBias());
        float[] v = Linear.apply(par, m, x, rows, hidden, w.vProj(), kvRow, w.vBias());
        float[] out = new float[rows * qRow];
        float scale = (float) (1.0 / Math.sqrt(dh));
        int window = cfg.windowSize();
        int group = hq / hkv;

        par.forEach(memories.size(), s -> {
            AttentionLayerMemory mem = memories.get(s);
            int r0 = offsets[s];
            int n = offsets[s + 1] - r0;
            int cached = mem.cachedCount();
            int total = cached + n;
            // keys and values in view, oldest first: the ring buffer, then this piece
            float[] keys = new float[total * kvRow];
            float[] vals = new float[total * kvRow];
            for (int i = 0; i < cached; i++) {
                int slot = mem.slotOfCached(i);
                System.arraycopy(mem.keys(), slot * kvRow, keys, i * kvRow, kvRow);
                System.arraycopy(mem.values(), slot * kvRow, vals, i * kvRow, kvRow);
            }
            System.arraycopy(k, r0 * kvRow, keys, cached * kvRow, n * kvRow);
            System.arraycopy(v, r0 * kvRow, vals, cached * kvRow, n * kvRow);
            float[][] table = rope.table(total);
            float[] rk = keys.clone();
            for (int e = 0; e < total; e++) {
                rope.rotate(rk, e * kvRow, hkv, table, e);
            }
            float[] qr = new float[qRow];
            float[] scores = new float[Math.min(window, total)];
            for (int t = 0; t < n; t++) {
                int pos = cached + t;
                System.arraycopy(q, (r0 + t) * qRow, qr, 0, qRow);
                rope.rotate(qr, 0, hq, table, pos);
                int lo = Math.max(0, pos - window + 1);
                int count = pos - lo + 1;
                for (int h = 0; h < hq; h++) {
                    int kvh = h / group;
                    float max = Float.NEGATIVE_INFINITY;
                    for (int e = 0; e < count; e++) {
                        float sc = m.dot(qr, h * dh, rk, (lo + e) * kvRow + kvh * dh, dh) * scale;
                        scores[e] = sc;
                        max = Math.max(max, sc);
                    }
                    double sum = 0;
                    for (int e = 0; e < count; e++) {
                        float p = (float) Math.exp(scores[e] - max);
                        scores[e] = p;
                        sum += p;
                    }
                    float inv = (float) (1.0 / sum);
                    int oo = (r0 + t) * qRow + h * dh;
                    for (int e = 0; e < count; e++) {
                        m.axpy(scores[e] * inv, vals, (lo + e) * kvRow + kvh * dh, out, oo, dh);
                    }
                }
            }
            for (int t = 0; t < n; t++) {
                mem.append(k, (r0 + t) * kvRow, v, (r0 + t) * kvRow);
            }
        });
        return Linear.apply(par, m, out, rows, qRow, w.oProj(), hidden, null);
    }
}
