package dev.gdn.kernels.layers.mamba2;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gdn.kernels.config.ConfigException;
import dev.gdn.kernels.config.ConfigReader;
import java.util.Optional;
import java.util.Set;

/**
 * Mamba2 layers of an H2 hybrid (the {@code mamba2} block of config.json).
 *
 * @param layers     indices of the layers whose mixer is Mamba2 (disjoint from the attention layers)
 * @param numHeads   H
 * @param headDim    P; H * P is the inner width I = expand * hidden_size
 * @param stateSize  N: the SSM state of a head is {@code [P, N]}
 * @param groups     G: B and C have G groups of N; head h reads group h / (H / G)
 * @param convKernel Kc, width of the depthwise causal convolution over the x, B, C channels
 * @param convBias   whether that convolution adds a bias
 * @param normEps    epsilon of the gated group RMSNorm
 */
public record Mamba2Config(Set<Integer> layers, int numHeads, int headDim, int stateSize, int groups, int convKernel,
        boolean convBias, float normEps) {

    public boolean isMamba2Layer(int layer) {
        return layers.contains(layer);
    }

    /** I = H * P. */
    public int innerDim() {
        return numHeads * headDim;
    }

    /** Channels of the convolution: x, B and C, I + 2 G N. */
    public int convDim() {
        return innerDim() + 2 * groups * stateSize;
    }

    /** Rows of in_proj: z, xBC, dt. */
    public int inProjRows() {
        return innerDim() + convDim() + numHeads;
    }

    /** Floats of one stream's SSM state: H P N. */
    public int stateFloats() {
        return numHeads * headDim * stateSize;
    }

    /** The Mamba2 block of {@code c}, when its model has Mamba2 layers. */
    public static Optional<Mamba2Config> of(dev.gdn.kernels.config.ModelConfig c) {
        return c.block(dev.gdn.kernels.layers.LayerKinds.MAMBA2, Mamba2Config.class);
    }

    private static final Set<String> KEYS = Set.of("layers", "num_heads", "head_dim", "state_size", "expand",
            "n_groups", "conv_kernel", "use_conv_bias", "norm_before_gate", "norm_eps", "chunk_size", "use_bias",
            "time_step_limit", "time_step_min", "time_step_max", "time_step_floor", "rescale_prenorm_residual");

    /**
     * The {@code mamba2} block of a config.json (null or absent: none), checked: every key known, the layers
     * in {@code [0, layers)}, heads x head_dim = expand x hidden, and the options this runtime refuses.
     */
    public static Optional<Mamba2Config> parse(JsonNode root, String source, int hidden, int layers) {
        ConfigReader r = ConfigReader.block(root, "mamba2", source, KEYS);
        if (r == null) {
            return Optional.empty();
        }
        Set<Integer> idx = r.layerIndices(layers);
        String where = r.where();
        JsonNode node = r.node();
        int heads = r.positiveInt("num_heads", 0);
        int headDim = r.positiveInt("head_dim", 0);
        int expand = r.positiveInt("expand", 2);
        if ((long) heads * headDim != (long) expand * hidden) {
            throw new ConfigException(where + ": num_heads x head_dim = " + heads + " x " + headDim + " must equal "
                    + "expand x hidden_size = " + expand + " x " + hidden);
        }
        int groups = r.positiveInt("n_groups", 1);
        if (heads % groups != 0) {
            throw new ConfigException(where + ".n_groups " + groups + " must divide num_heads " + heads);
        }
        if (r.bool("norm_before_gate", false)) {
            throw new ConfigException(where + ".norm_before_gate = true is not supported: expected false (gate, "
                    + "then the group norm)");
        }
        if (r.bool("use_bias", false)) {
            throw new ConfigException(where + ".use_bias = true is not supported: in_proj and out_proj have no bias");
        }
        if (node.hasNonNull("time_step_limit")) {
            JsonNode lim = node.get("time_step_limit");
            boolean open = lim.isArray() && lim.size() == 2 && lim.get(0).asDouble() == 0.0
                    && (lim.get(1).isNull() || Double.isInfinite(lim.get(1).asDouble())
                            || "inf".equalsIgnoreCase(lim.get(1).asText()));
            if (!open) {
                throw new ConfigException(where + ".time_step_limit = " + lim + " is not supported: expected [0, inf]");
            }
        }
        int state = r.positiveInt("state_size", 0);
        int kc = r.positiveInt("conv_kernel", 4);
        Mamba2Config m = new Mamba2Config(Set.copyOf(idx), heads, headDim, state, groups, kc,
                r.bool("use_conv_bias", true), r.positiveFloat("norm_eps", 1e-5f));
        dev.gdn.kernels.config.ModelConfig.fits("the Mamba2 in_proj hidden_size x (2 I + 2 G N + H) (" + hidden + " x "
                + m.inProjRows() + ")", (long) hidden * m.inProjRows());
        dev.gdn.kernels.config.ModelConfig.fits("the Mamba2 state num_heads x head_dim x state_size (" + m.numHeads()
                + " x " + m.headDim() + " x " + m.stateSize() + ")", (long) m.numHeads() * m.headDim() * m.stateSize());
        return Optional.of(m);
    }
}
