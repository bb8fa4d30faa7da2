package dev.gdn.kernels.layers.kda;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gdn.kernels.config.ConfigException;
import dev.gdn.kernels.config.ConfigReader;
import java.util.OptionalDouble;

/**
 * What a {@code model_type: kda} checkpoint (FLA's {@code KDAForCausalLM}) adds to the shared shapes: its
 * delta-rule layers (every layer that is not an attention or Mamba2 layer) are Kimi Delta Attention.
 *
 * @param lowerBound {@code lower_bound}: when set, the gate is {@code lower_bound * sigmoid(exp(A_log) (f +
 *                   dt_bias))}, in {@code [lower_bound, 0)}; else {@code -exp(A_log) softplus(f + dt_bias)}
 * @param safeGate   {@code safe_gate}: the kernels may assume the gate lies in {@code [lower_bound, 0)}
 *                   (FLA's faster path); the math is the same
 */
public record KdaConfig(OptionalDouble lowerBound, boolean safeGate) {
    public KdaConfig {
        if (lowerBound.isPresent() && !(lowerBound.getAsDouble() < 0)) {
            throw new IllegalArgumentException("lower_bound must be < 0 (a log-decay), got " + lowerBound.getAsDouble());
        }
        if (safeGate && lowerBound.isEmpty()) {
            throw new IllegalArgumentException("safe_gate=true needs lower_bound to be set");
        }
    }

    /** The KDA block of {@code c}, when it is a {@code model_type: kda} config. */
    public static java.util.Optional<KdaConfig> of(dev.gdn.kernels.config.ModelConfig c) {
        return c.block(dev.gdn.kernels.layers.LayerKinds.KDA, KdaConfig.class);
    }

    /** The kda keys of a {@code model_type: kda} config.json's root, checked. */
    public static KdaConfig parse(JsonNode root, String source) {
        OptionalDouble lower = OptionalDouble.empty();
        JsonNode lb = root.get("lower_bound");
        if (lb != null && !lb.isNull()) {
            if (!lb.isNumber() || !(lb.asDouble() < 0)) {
                throw new ConfigException(source + ": lower_bound must be a negative number or null, found " + lb);
            }
            lower = OptionalDouble.of(lb.asDouble());
        }
        boolean safe = new ConfigReader(root, source).bool("safe_gate", false);
        if (safe && lower.isEmpty()) {
            throw new ConfigException(source + ": safe_gate=true needs lower_bound to be set (FLA refuses it too)");
        }
        return new KdaConfig(lower, safe);
    }
}
