package dev.gdn.kernels.model;

import dev.gdn.kernels.config.AttentionConfig;
import dev.gdn.kernels.config.Mamba2Config;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.io.SafetensorsFormatException;
import dev.gdn.kernels.io.WeightSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The weights of a {@code GatedDeltaNetForCausalLM} checkpoint, upcast exactly to fp32, each checked
 * against the shape that config.json implies. Linear weights keep PyTorch's {@code [out, in]} layout.
 *
 * @param embeddings {@code [vocab, D]}
 * @param layers     one per block: token mixer, its pre-norm and the MLP
 * @param finalNorm  {@code [D]}
 * @param lmHead     {@code [vocab, D]}; the embeddings array itself when tied
 * @param score      classification head {@code [labels, D]} ({@code score.weight}), or null
 * @param scoreBias  its bias {@code [labels]} ({@code score.bias}), or null (none, or no head)
 */
public record ModelWeights(float[] embeddings, List<BlockWeights> layers, float[] finalNorm, float[] lmHead,
        float[] score, float[] scoreBias) {

    /** Without a classification head. */
    public ModelWeights(float[] embeddings, List<BlockWeights> layers, float[] finalNorm, float[] lmHead) {
        this(embeddings, layers, finalNorm, lmHead, null, null);
    }

    /** One block: {@code h = h + mixer(attnNorm(h)); h = h + mlp(mlpNorm(h))}. */
    public record BlockWeights(float[] attnNorm, MixerWeights mixer, float[] mlpNorm, MlpWeights mlp) {
    }

    /** The token mixer of a block. */
    public sealed interface MixerWeights permits DeltaNetWeights, AttentionWeights, Mamba2Weights {
    }

    /**
     * A Gated DeltaNet token mixer. Shapes with H heads, HV value heads, K = head_dim, V = head_v_dim, W = conv_size.
     *
     * @param qProj  {@code [H*K, D]}
     * @param kProj  {@code [H*K, D]}
     * @param vProj  {@code [HV*V, D]}
     * @param aProj  {@code [HV, D]}
     * @param bProj  {@code [HV, D]}
     * @param aLog   {@code [HV]}
     * @param dtBias {@code [HV]}
     * @param qConv  {@code [H*K, W]}, or null without short convolutions
     * @param kConv  {@code [H*K, W]}, or null
     * @param vConv  {@code [HV*V, W]}, or null
     * @param gProj  {@code [HV*V, D]}, or null without the output gate
     * @param oNorm  {@code [V]}
     * @param oProj  {@code [D, HV*V]}
     */
    public record DeltaNetWeights(float[] qProj, float[] kProj, float[] vProj, float[] aProj, float[] bProj,
            float[] aLog, float[] dtBias, float[] qConv, float[] kConv, float[] vConv, float[] gProj, float[] oNorm,
            float[] oProj) implements MixerWeights {
    }

    /**
     * A sliding-window attention mixer with Hq query heads, Hkv kv heads of width Dh.
     *
     * @param qProj {@code [Hq*Dh, D]}
     * @param kProj {@code [Hkv*Dh, D]}
     * @param vProj {@code [Hkv*Dh, D]}
     * @param oProj {@code [D, Hq*Dh]}
     * @param qBias {@code [Hq*Dh]} or null
     * @param kBias {@code [Hkv*Dh]} or null
     * @param vBias {@code [Hkv*Dh]} or null
     */
    public record AttentionWeights(float[] qProj, float[] kProj, float[] vProj, float[] oProj, float[] qBias,
            float[] kBias, float[] vBias) implements MixerWeights {
    }

    /**
     * A Mamba2 mixer (see {@link dev.gdn.kernels.config.Mamba2Config}: inner width I = H P, convolution
     * channels C = I + 2 G N).
     *
     * @param inProj   {@code [I + C + H, D]}: z, xBC, dt
     * @param conv     {@code [C, Kc]} (PyTorch's {@code [C, 1, Kc]})
     * @param convBias {@code [C]} or null
     * @param dtBias   {@code [H]}
     * @param aLog     {@code [H]}: A = -exp(A_log)
     * @param d        {@code [H]}: the skip connection D
     * @param norm     {@code [I]}: the gated group RMSNorm's weight
     * @param outProj  {@code [D, I]}
     */
    public record Mamba2Weights(float[] inProj, float[] conv, float[] convBias, float[] dtBias, float[] aLog,
            float[] d, float[] norm, float[] outProj) implements MixerWeights {
    }

    /** SwiGLU MLP: {@code down(silu(gate(x)) * up(x))}; gate, up {@code [I, D]}, down {@code [D, I]}. */
    public record MlpWeights(float[] gate, float[] up, float[] down) {
    }

    /**
     * Every weight array in one fixed order (embeddings; per block its norm, token mixer, MLP norm and
     * MLP; final norm; LM head), with null where an optional tensor is absent. A tied LM head appears
     * twice as the same array. The classification head is not among them (see {@link ModelFingerprint}:
     * it reads hidden states and never changes a memory).
     */
    public List<float[]> tensors() {
        List<float[]> t = new ArrayList<>();
        t.add(embeddings);
        for (BlockWeights b : layers) {
            t.add(b.attnNorm());
            if (b.mixer() instanceof DeltaNetWeights d) {
                t.addAll(java.util.Arrays.asList(d.qProj(), d.kProj(), d.vProj(), d.aProj(), d.bProj(), d.aLog(),
                        d.dtBias(), d.qConv(), d.kConv(), d.vConv(), d.gProj(), d.oNorm(), d.oProj()));
            } else if (b.mixer() instanceof AttentionWeights a) {
                t.addAll(java.util.Arrays.asList(a.qProj(), a.kProj(), a.vProj(), a.oProj(), a.qBias(), a.kBias(),
                        a.vBias()));
            } else if (b.mixer() instanceof Mamba2Weights m) {
                t.addAll(java.util.Arrays.asList(m.inProj(), m.conv(), m.convBias(), m.dtBias(), m.aLog(), m.d(),
                        m.norm(), m.outProj()));
            }
            t.addAll(java.util.Arrays.asList(b.mlpNorm(), b.mlp().gate(), b.mlp().up(), b.mlp().down()));
        }
        t.addAll(java.util.Arrays.asList(finalNorm, lmHead));
        return t;
    }

    /**
     * Loads and checks every tensor the config implies.
     *
     * @throws SafetensorsFormatException naming a missing, mis-shaped or unexpected tensor
     */
    public static ModelWeights load(WeightSource src, ModelConfig c) {
        Set<String> read = new HashSet<>();
        Loader l = new Loader(src, read);
        int d = c.hiddenSize();
        float[] emb = l.get("model.embeddings.weight", c.vocabSize(), d);
        List<BlockWeights> blocks = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            MixerWeights mixer = c.isAttentionLayer(i) ? attention(l, p + "attn.", c.attention().orElseThrow(), d)
                    : c.isMamba2Layer(i) ? mamba2(l, p + "attn.", c.mamba2().orElseThrow(), d)
                    : deltaNet(l, p + "attn.", c);
            int inter = c.intermediateSize();
            blocks.add(new BlockWeights(l.get(p + "attn_norm.weight", d), mixer, l.get(p + "mlp_norm.weight", d),
                    new MlpWeights(l.get(p + "mlp.gate_proj.weight", inter, d), l.get(p + "mlp.up_proj.weight", inter, d),
                            l.get(p + "mlp.down_proj.weight", d, inter))));
        }
        float[] norm = l.get("model.norm.weight", d);
        float[] head;
        if (c.tieWordEmbeddings()) {
            head = emb;
            read.add("lm_head.weight");
        } else {
            head = l.get("lm_head.weight", c.vocabSize(), d);
        }
        float[] score = null;
        float[] scoreBias = null;
        if (src.contains("score.weight")) {
            if (c.labels().isEmpty()) {
                throw new SafetensorsFormatException(src.dir() + ": the checkpoint has a classification head "
                        + "(score.weight) but config.json has no id2label naming its classes");
            }
            score = l.get("score.weight", c.labels().size(), d);
            if (src.contains("score.bias")) {
                scoreBias = l.get("score.bias", c.labels().size());
            }
        } else if (!c.labels().isEmpty()) {
            throw new SafetensorsFormatException(src.dir() + ": config.json names " + c.labels().size()
                    + " classes (id2label) but the checkpoint has no score.weight");
        }
        List<String> unexpected = new ArrayList<>();
        for (String n : src.names()) {
            if (!read.contains(n)) {
                unexpected.add(n);
            }
        }
        if (!unexpected.isEmpty()) {
            throw new SafetensorsFormatException(src.dir() + ": tensors that config.json does not account for: "
                    + (unexpected.size() > 8 ? unexpected.subList(0, 8) + " and " + (unexpected.size() - 8) + " more"
                            : unexpected));
        }
        return new ModelWeights(emb, List.copyOf(blocks), norm, head, score, scoreBias);
    }

    private static DeltaNetWeights deltaNet(Loader l, String p, ModelConfig c) {
        int d = c.hiddenSize();
        int kDim = c.keyDim();
        int vDim = c.valueDim();
        int hv = c.numValueHeads();
        int w = c.convSize();
        boolean conv = c.useShortConv();
        return new DeltaNetWeights(l.get(p + "q_proj.weight", kDim, d), l.get(p + "k_proj.weight", kDim, d),
                l.get(p + "v_proj.weight", vDim, d), l.get(p + "a_proj.weight", hv, d), l.get(p + "b_proj.weight", hv, d),
                l.get(p + "A_log", hv), l.get(p + "dt_bias", hv),
                conv ? l.get(p + "q_conv1d.weight", kDim, 1, w) : null,
                conv ? l.get(p + "k_conv1d.weight", kDim, 1, w) : null,
                conv ? l.get(p + "v_conv1d.weight", vDim, 1, w) : null,
                c.useGate() ? l.get(p + "g_proj.weight", vDim, d) : null,
                l.get(p + "o_norm.weight", c.headValueDim()), l.get(p + "o_proj.weight", d, vDim));
    }

    private static AttentionWeights attention(Loader l, String p, AttentionConfig a, int d) {
        int q = a.numHeads() * a.headDim();
        int kv = a.numKvHeads() * a.headDim();
        boolean bias = a.qkvBias();
        return new AttentionWeights(l.get(p + "q_proj.weight", q, d), l.get(p + "k_proj.weight", kv, d),
                l.get(p + "v_proj.weight", kv, d), l.get(p + "o_proj.weight", d, q),
                bias ? l.get(p + "q_proj.bias", q) : null, bias ? l.get(p + "k_proj.bias", kv) : null,
                bias ? l.get(p + "v_proj.bias", kv) : null);
    }

    private static Mamba2Weights mamba2(Loader l, String p, Mamba2Config m, int d) {
        int h = m.numHeads();
        int c = m.convDim();
        return new Mamba2Weights(l.get(p + "in_proj.weight", m.inProjRows(), d),
                l.get(p + "conv1d.weight", c, 1, m.convKernel()), m.convBias() ? l.get(p + "conv1d.bias", c) : null,
                l.get(p + "dt_bias", h), l.get(p + "A_log", h), l.get(p + "D", h), l.get(p + "norm.weight", m.innerDim()),
                l.get(p + "out_proj.weight", d, m.innerDim()));
    }

    private record Loader(WeightSource src, Set<String> read) {
        float[] get(String name, int... shape) {
            read.add(name);
            return src.floats(name, shape);
        }
    }
}
