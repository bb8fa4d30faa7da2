package dev.gdn.state;

import dev.gdn.kernels.io.SafetensorsWriter;
import dev.gdn.kernels.layers.MemoryShape;
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
            float[] t = m.layer(i).parts()[0];
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
            MemoryShape shape = layout.layers().get(i);
            shape.kind().export(shape, m.layer(i), p, w);
        }
        w.write(file);
    }
}
