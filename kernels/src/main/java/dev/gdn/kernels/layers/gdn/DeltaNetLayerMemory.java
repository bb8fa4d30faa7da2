package dev.gdn.kernels.layers.gdn;

import dev.gdn.kernels.model.LayerMemory;
import java.util.Arrays;

/**
 * Memory of a delta-rule layer for one stream: a Gated DeltaNet layer's, or that of another kind with the
 * same state and caches (Kimi Delta Attention), which it names.
 *
 * <ul>
 *   <li>{@code state: [HV, K, V]}: the delta-rule state S of every value head (key-first; FLA's cache
 *       stores the transpose, value-first)</li>
 *   <li>{@code convQ, convK: [W - 1, H * K]}, {@code convV: [W - 1, HV * V]}: the last W - 1
 *       pre-convolution inputs, oldest first (FLA keeps the last W, one more than the math needs)</li>
 * </ul>
 */
public final class DeltaNetLayerMemory implements LayerMemory {
    private final dev.gdn.kernels.layers.LayerKind kind;
    private final float[] state;
    private final float[] convQ;
    private final float[] convK;
    private final float[] convV;

    /** A Gated DeltaNet layer's memory. */
    public DeltaNetLayerMemory(float[] state, float[] convQ, float[] convK, float[] convV) {
        this(dev.gdn.kernels.layers.LayerKinds.GATED_DELTANET, state, convQ, convK, convV);
    }

    /** The memory of a layer of {@code kind}, which keeps a delta-rule state and the three caches. */
    public DeltaNetLayerMemory(dev.gdn.kernels.layers.LayerKind kind, float[] state, float[] convQ, float[] convK,
            float[] convV) {
        this.kind = kind;
        this.state = state;
        this.convQ = convQ;
        this.convK = convK;
        this.convV = convV;
    }

    /** A zero memory for the given sizes. */
    public static DeltaNetLayerMemory zeros(int stateSize, int convHistory, int keyDim, int valueDim) {
        return new DeltaNetLayerMemory(new float[stateSize], new float[convHistory * keyDim],
                new float[convHistory * keyDim], new float[convHistory * valueDim]);
    }

    public float[] state() {
        return state;
    }

    public float[] convQ() {
        return convQ;
    }

    public float[] convK() {
        return convK;
    }

    public float[] convV() {
        return convV;
    }

    @Override
    public dev.gdn.kernels.layers.LayerKind kind() {
        return kind;
    }

    /** {@code [state, convQ, convK, convV]}. */
    @Override
    public float[][] parts() {
        return new float[][] {state, convQ, convK, convV};
    }

    @Override
    public DeltaNetLayerMemory copy() {
        return new DeltaNetLayerMemory(kind, state.clone(), convQ.clone(), convK.clone(), convV.clone());
    }

    @Override
    public void reset() {
        Arrays.fill(state, 0f);
        Arrays.fill(convQ, 0f);
        Arrays.fill(convK, 0f);
        Arrays.fill(convV, 0f);
    }

    @Override
    public boolean isFinite() {
        return LayerMemory.finite(state, convQ, convK, convV);
    }

    @Override
    public long payloadBytes() {
        return 4L * (state.length + convQ.length + convK.length + convV.length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeltaNetLayerMemory d && kind == d.kind && Arrays.equals(state, d.state) && Arrays.equals(convQ, d.convQ)
                && Arrays.equals(convK, d.convK) && Arrays.equals(convV, d.convV);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(state) + Arrays.hashCode(convV);
    }
}
