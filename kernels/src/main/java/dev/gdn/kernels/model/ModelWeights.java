package dev.gdn.kernels.model;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.io.SafetensorsFormatException;
import dev.gdn.kernels.io.WeightSource;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MixerWeights;
import dev.gdn.kernels.layers.WeightReader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The weights of a {@code GatedDeltaNetForCausalLM} checkpoint, upcast exactly to fp32, each checked
 * against the shape that config.json implies. Linear weights keep PyTorch's {@code [out, in]} layout.
 *
 * @param embeddings {@code [vocab, D]}
 * @param layers     one per block: token mixer (a record of its layer kind's package), its pre-norm and the MLP
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
            t.addAll(b.mixer().kind().tensors(b.mixer()));
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
            MixerWeights mixer = LayerKinds.of(c, i).load(l, p + "attn.", c);
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

    private record Loader(WeightSource src, Set<String> read) implements WeightReader {
        @Override
        public float[] get(String name, int... shape) {
            read.add(name);
            return src.floats(name, shape);
        }
    }
}
