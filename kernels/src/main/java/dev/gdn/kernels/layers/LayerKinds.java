package dev.gdn.kernels.layers;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.layers.attention.AttentionKind;
import dev.gdn.kernels.layers.gdn.GatedDeltaNetKind;
import dev.gdn.kernels.layers.kda.KdaKind;
import dev.gdn.kernels.layers.mamba2.Mamba2Kind;
import java.util.List;

/** Every layer kind the runtime knows, in one place: a new kind is added here and in its own package. */
public final class LayerKinds {
    /** Gated DeltaNet: a layer no other kind claims. */
    public static final LayerKind GATED_DELTANET = new GatedDeltaNetKind();
    public static final LayerKind ATTENTION = new AttentionKind();
    public static final LayerKind MAMBA2 = new Mamba2Kind();
    public static final LayerKind KDA = new KdaKind();
    /** The kinds that claim their layers by config.json; the first that owns a layer is its kind. */
    private static final List<LayerKind> CLAIMING = List.of(ATTENTION, MAMBA2, KDA);
    private static final List<LayerKind> ALL = java.util.stream.Stream.concat(java.util.stream.Stream.of(GATED_DELTANET),
            CLAIMING.stream()).toList();

    private LayerKinds() {
    }

    /** Every kind. */
    public static List<LayerKind> all() {
        return ALL;
    }

    /** The kind with format code {@code code}. */
    public static LayerKind byCode(int code) {
        for (LayerKind k : ALL) {
            if (k.code() == code) {
                return k;
            }
        }
        throw new IllegalArgumentException("no layer kind has code " + code + "; the codes are "
                + ALL.stream().map(k -> k.code() + " (" + k.name() + ")").toList());
    }

    /** Whether a kind has code {@code code}. */
    public static boolean knows(int code) {
        return ALL.stream().anyMatch(k -> k.code() == code);
    }

    /** The kind of layer {@code layer} of {@code c}. */
    public static LayerKind of(ModelConfig c, int layer) {
        for (LayerKind k : CLAIMING) {
            if (k.owns(c, layer)) {
                return k;
            }
        }
        return GATED_DELTANET;
    }
}
