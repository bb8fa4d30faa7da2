package dev.gdn.kernels.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.gdn.kernels.layers.LayerKind;
import dev.gdn.kernels.layers.LayerKinds;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads a Hugging Face style {@code config.json} of a model type some layer kind defines
 * ({@link LayerKind#modelType}: {@code gated_deltanet}, {@code kda}, as flash-linear-attention writes them for
 * {@code GatedDeltaNetForCausalLM} and {@code KDAForCausalLM}): the shared keys here, each kind's own block
 * by the kind ({@link LayerKind#parseBlock}).
 *
 * <p>Strict by design: every key is either one whose value this code implements, one that provably
 * does not change the forward math ({@link #NEUTRAL_KEYS}), or an error that names it. Absent keys
 * take FLA's defaults.
 */
public final class ModelConfigParser {
    /** Keys that do not change the forward pass (training, fusion and bookkeeping switches). */
    static final Set<String> NEUTRAL_KEYS = Set.of("attn_mode", "bos_token_id", "eos_token_id", "pad_token_id",
            "fuse_cross_entropy", "fuse_linear_cross_entropy", "fuse_norm", "fuse_swiglu", "initializer_range",
            "max_position_embeddings", "transformers_version", "use_cache", "architectures", "torch_dtype", "dtype",
            "_name_or_path", "auto_map", "return_dict", "output_hidden_states", "output_attentions",
            "id2label", "label2id", "num_labels", "problem_type");

    private static final Set<String> MATH_KEYS = Set.of("model_type", "vocab_size", "hidden_size", "num_heads",
            "num_v_heads", "head_dim", "expand_v", "num_hidden_layers", "conv_size", "use_short_conv", "use_gate",
            "allow_neg_eigval", "norm_eps", "hidden_ratio", "intermediate_size", "tie_word_embeddings", "attn",
            "hidden_act", "use_l2warp", "attnres_block_size");



    /** As strict as events: a duplicate key or anything after the object is an error, not last-wins. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private ModelConfigParser() {
    }

    /**
     * Parses and validates a config file.
     *
     * @throws ConfigException naming the file, the key, the value found and what is expected
     */
    public static ModelConfig parse(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": no such file");
        } catch (IOException e) {
            throw new ConfigException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        return parse(root, file.toString());
    }

    /** Parses an already-read config tree; {@code source} names it in errors. */
    public static ModelConfig parse(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new ConfigException(source + ": must be a JSON object");
        }
        ConfigReader r = new ConfigReader(root, source);
        String modelTypeName = r.string("model_type", null);
        ModelType type = modelType(modelTypeName, source);
        Set<String> known = new java.util.HashSet<>(MATH_KEYS);
        known.removeAll(type.refusedKeys());
        known.addAll(type.ownKeys());
        LayerKinds.all().forEach(k -> known.addAll(k.configKeys()));
        List<String> unknown = new ArrayList<>();
        for (Iterator<String> it = root.fieldNames(); it.hasNext();) {
            String k = it.next();
            if (!known.contains(k) && !NEUTRAL_KEYS.contains(k)) {
                unknown.add(k);
            }
        }
        if (!unknown.isEmpty()) {
            throw new ConfigException(source + ": unsupported option(s) " + unknown
                    + ": this implementation does not know what they change, so it refuses to guess");
        }
        String act = r.string("hidden_act", "swish");
        if (!act.equals("swish") && !act.equals("silu")) {
            throw new ConfigException(source + ": hidden_act '" + act + "' is not supported, expected 'swish'");
        }
        if (r.bool("use_l2warp", false)) {
            throw new ConfigException(source + ": use_l2warp=true is not supported");
        }
        if (root.hasNonNull("attnres_block_size")) {
            throw new ConfigException(source + ": attnres_block_size=" + root.get("attnres_block_size")
                    + " is not supported, expected null");
        }

        int hidden = r.positiveInt("hidden_size", 2048);
        int heads = r.positiveInt("num_heads", type.heads());
        int vHeads = root.hasNonNull("num_v_heads") ? r.positiveInt("num_v_heads", heads) : heads;
        int headDim = r.positiveInt("head_dim", type.headDim());
        double expandV = r.positiveDouble("expand_v", type.expandV());
        double headVExact = headDim * expandV;
        if (headVExact != Math.rint(headVExact)) {
            throw new ConfigException(source + ": head_dim * expand_v = " + headVExact + " must be a whole number");
        }
        if (vHeads % heads != 0) {
            throw new ConfigException(source + ": num_v_heads " + vHeads + " must be a multiple of num_heads " + heads);
        }
        int layers = r.positiveInt("num_hidden_layers", type.layers());
        int conv = r.positiveInt("conv_size", 4);
        int vocab = r.positiveInt("vocab_size", 32000);
        float eps = r.positiveFloat("norm_eps", 1e-6f);
        int intermediate;
        if (root.hasNonNull("intermediate_size")) {
            intermediate = r.positiveInt("intermediate_size", 0);
        } else {
            double ratio = r.positiveDouble("hidden_ratio", 4);
            int raw = (int) (hidden * ratio * 2 / 3);
            intermediate = 256 * ((raw + 255) / 256);
        }
        Map<LayerKind, Object> blocks = new java.util.LinkedHashMap<>();
        for (LayerKind kind : LayerKinds.all()) {
            kind.parseBlock(root, source, type.name(), hidden, layers).ifPresent(b -> blocks.put(kind, b));
        }
        ModelConfig c = new ModelConfig(vocab, hidden, heads, vHeads, headDim, (int) headVExact, layers, conv,
                r.bool("use_short_conv", true), r.bool("use_gate", true), r.bool("allow_neg_eigval", false),
                eps, intermediate, r.bool("tie_word_embeddings", false), labels(root.get("id2label"), source), blocks);
        for (int l = 0; l < layers; l++) {
            int layer = l;
            // the kinds that claim layers by a list of their own (attn.layers, mamba2.layers)
            List<LayerKind> listed = LayerKinds.all().stream()
                    .filter(k -> !k.configKeys().isEmpty() && k.owns(c, layer)).toList();
            if (listed.size() > 1) {
                throw new ConfigException(source + ": layer " + l + " is in the layers of more than one block: "
                        + listed.stream().map(k -> k.configKeys().iterator().next() + ".layers").toList());
            }
        }
        return c;
    }

    /** The model type named {@code name}, or an error listing those the layer kinds define. */
    private static ModelType modelType(String name, String source) {
        List<String> names = new ArrayList<>();
        for (LayerKind k : LayerKinds.all()) {
            if (k.modelType().isPresent()) {
                if (k.modelType().get().name().equals(name)) {
                    return k.modelType().get();
                }
                names.add("'" + k.modelType().get().name() + "'");
            }
        }
        String expected = names.size() == 1 ? names.get(0)
                : String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.get(names.size() - 1);
        throw new ConfigException(source + ": model_type is '" + name + "', expected " + expected);
    }


    /** {@code id2label} ({"0": "normal", "1": "anomaly"}) as names in id order; ids must be 0..n-1. */
    private static java.util.List<String> labels(JsonNode node, String source) {
        if (node == null || node.isNull()) {
            return java.util.List.of();
        }
        if (!node.isObject()) {
            throw new ConfigException(source + ": id2label must be an object of id -> name, found " + node);
        }
        String[] names = new String[node.size()];
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new ConfigException(source + ": id2label key '" + e.getKey() + "' is not a class id");
            }
            if (id < 0 || id >= names.length || names[id] != null) {
                throw new ConfigException(source + ": id2label ids must be 0.." + (names.length - 1)
                        + " without gaps, found " + e.getKey());
            }
            names[id] = e.getValue().asText();
        }
        return java.util.List.of(names);
    }


}
