package dev.gdn.kernels.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;

/**
 * Typed access to one JSON object of a config.json (the root, or a layer kind's block) with messages
 * that name the key and the value.
 *
 * @param where how errors name the object, e.g. {@code config.json: attn}
 */
public record ConfigReader(JsonNode node, String where) {

    /**
     * A layer kind's block ({@code key} of {@code root}): null when absent or null, else its reader, after
     * checking it is an object whose keys are all in {@code known}.
     */
    public static ConfigReader block(JsonNode root, String key, String source, Set<String> known) {
        JsonNode node = root == null ? null : root.get(key);
        if (node == null || node.isNull()) {
            return null;
        }
        String where = source + ": " + key;
        if (!node.isObject()) {
            throw new ConfigException(where + " must be an object or null, found " + node);
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            String k = it.next();
            if (!known.contains(k)) {
                throw new ConfigException(where + ": unsupported option '" + k + "'");
            }
        }
        return new ConfigReader(node, where);
    }

    /** The block's {@code layers}: indices in {@code [0, layers)}, as a sorted set. */
    public Set<Integer> layerIndices(int layers) {
        JsonNode layerNode = node.get("layers");
        if (layerNode == null || !layerNode.isArray()) {
            throw new ConfigException(where + ".layers must be an array of layer indices");
        }
        Set<Integer> idx = new TreeSet<>();
        for (JsonNode l : layerNode) {
            if (!l.isIntegralNumber() || !l.canConvertToInt() || l.asInt() < 0 || l.asInt() >= layers) {
                throw new ConfigException(where + ".layers: " + l + " is not a layer index in [0, " + layers + ")");
            }
            idx.add(l.asInt());
        }
        return idx;
    }

    public int positiveInt(String key, int def) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            if (def <= 0) {
                throw new ConfigException(where + ": missing required key '" + key + "'");
            }
            return def;
        }
        if (!v.isNumber() || v.asDouble() != Math.rint(v.asDouble()) || v.asDouble() < 1
                || v.asDouble() > Integer.MAX_VALUE) {
            throw new ConfigException(where + ": " + key + " = " + v + ", expected a positive integer");
        }
        return v.asInt();
    }

    public double positiveDouble(String key, double def) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!v.isNumber() || !(v.asDouble() > 0) || Double.isInfinite(v.asDouble())) {
            throw new ConfigException(where + ": " + key + " = " + v + ", expected a positive number");
        }
        return v.asDouble();
    }

    /** A positive number that stays a positive, finite fp32 value (1e300 would become Infinity). */
    public float positiveFloat(String key, float def) {
        double d = positiveDouble(key, def);
        if ((float) d == 0f || Float.isInfinite((float) d)) {
            throw new ConfigException(where + ": " + key + " = " + node.get(key) + ", expected a positive number "
                    + "within fp32's range (" + Float.MIN_NORMAL + " to " + Float.MAX_VALUE + ")");
        }
        return (float) d;
    }

    public boolean bool(String key, boolean def) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!v.isBoolean()) {
            throw new ConfigException(where + ": " + key + " = " + v + ", expected true or false");
        }
        return v.asBoolean();
    }

    public String string(String key, String def) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!v.isTextual()) {
            throw new ConfigException(where + ": " + key + " = " + v + ", expected a string");
        }
        return v.asText();
    }
}
