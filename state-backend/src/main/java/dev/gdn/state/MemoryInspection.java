package dev.gdn.state;

import dev.gdn.kernels.io.SafetensorsWriter;
import dev.gdn.kernels.layers.attention.AttentionLayerMemory;
import dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory;
import dev.gdn.kernels.layers.mamba2.Mamba2LayerMemory;
import dev.gdn.kernels.model.LayerMemory;
import dev.gdn.kernels.model.StreamMemory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a person looks at in a stream memory: a one-line summary per stream and an export to
 * safetensors that opens in Python.
 *
 * <p>Export tensor names, per layer i:
 * <ul>
 *   <li>{@code layers.i.recurrent_state} {@code [HV, K, V]} (key-first; FLA's cache is the transpose)</li>
 *   <li>{@code layers.i.conv_state.q|k|v} {@code [W-1, D]}: the last W-1 pre-convolution inputs, oldest first</li>
 *   <li>Mamba2 layers: {@code layers.i.ssm_state} {@code [H, P, N]} and {@code layers.i.conv_state} {@code [Kc-1, I+2GN]}</li>
 *   <li>{@code layers.i.attn_keys}, {@code layers.i.attn_values} {@code [n, Hkv*Dh]}: the window, oldest
 *       first, keys unrotated; metadata {@code layers.i.position} is the absolute position of the next token</li>
 * </ul>
 * Metadata also holds {@code fingerprint} and {@code tokens_consumed}.
 */
public final class MemoryInspection {
    private MemoryInspection() {
    }

    /** Frobenius norm of each layer's main tensor (the delta-rule or SSM state, or the attention keys). */
    public static double[] layerNorms(StreamMemory m) {
        double[] n = new double[m.layerCount()];
        for (int i = 0; i < n.length; i++) {
            LayerMemory l = m.layer(i);
            float[] t = l instanceof DeltaNetLayerMemory d ? d.state()
                    : l instanceof Mamba2LayerMemory mm ? mm.ssm() : ((AttentionLayerMemory) l).keys();
            double s = 0;
            for (float v : t) {
                s += (double) v * v;
            }
            n[i] = Math.sqrt(s);
        }
        return n;
    }

    /** {@code tokens=... bytes=... fingerprint=... norms=[...]} */
    public static String summary(StreamMemory m, MemoryLayout layout, StorageDType storage) {
        List<String> norms = new ArrayList<>();
        for (double d : layerNorms(m)) {
            norms.add(String.format("%.4g", d));
        }
        return String.format("tokens=%d bytes=%d fingerprint=%s norms=%s", m.tokensConsumed(),
                layout.payloadBytes(storage), m.fingerprint().shortHex(), norms);
    }

    /** Writes the memory as safetensors (names above). */
    public static void export(StreamMemory m, MemoryLayout layout, Path file) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        w.metadata("format", "gdn-stream-memory").metadata("fingerprint", m.fingerprint().hex())
                .metadata("tokens_consumed", Long.toString(m.tokensConsumed()));
        for (int i = 0; i < m.layerCount(); i++) {
            String p = "layers." + i + ".";
            if (layout.layers().get(i) instanceof MemoryLayout.DeltaNet d) {
                DeltaNetLayerMemory dm = (DeltaNetLayerMemory) m.layer(i);
                w.addF32(p + "recurrent_state", dm.state(), d.valueHeads(), d.keyDim(), d.valueDim());
                w.addF32(p + "conv_state.q", dm.convQ(), d.convHistory(), d.qkDim());
                w.addF32(p + "conv_state.k", dm.convK(), d.convHistory(), d.qkDim());
                w.addF32(p + "conv_state.v", dm.convV(), d.convHistory(), d.vDim());
            } else if (layout.layers().get(i) instanceof MemoryLayout.Mamba2 mb) {
                Mamba2LayerMemory mm = (Mamba2LayerMemory) m.layer(i);
                w.addF32(p + "ssm_state", mm.ssm(), mb.heads(), mb.headDim(), mb.stateSize());
                w.addF32(p + "conv_state", mm.conv(), mb.convHistory(), mb.convDim());
            } else {
                AttentionLayerMemory am = (AttentionLayerMemory) m.layer(i);
                int n = am.cachedCount();
                int row = am.rowSize();
                float[] keys = new float[n * row];
                float[] values = new float[n * row];
                for (int e = 0; e < n; e++) {
                    System.arraycopy(am.keys(), am.slotOfCached(e) * row, keys, e * row, row);
                    System.arraycopy(am.values(), am.slotOfCached(e) * row, values, e * row, row);
                }
                w.addF32(p + "attn_keys", keys, n, row);
                w.addF32(p + "attn_values", values, n, row);
                w.metadata(p + "position", Long.toString(am.position()));
            }
        }
        w.write(file);
    }
}
