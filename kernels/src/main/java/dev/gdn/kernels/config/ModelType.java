package dev.gdn.kernels.config;

import java.util.Set;

/**
 * A config.json's {@code model_type} as the layer kind of its delta-rule layers defines it
 * ({@link dev.gdn.kernels.layers.LayerKind#modelType}): FLA's defaults for the shared keys, and which keys it
 * adds to or takes from the shared set.
 *
 * @param name        the {@code model_type} value, e.g. {@code gated_deltanet}
 * @param heads       default {@code num_heads}
 * @param headDim     default {@code head_dim}
 * @param expandV     default {@code expand_v}
 * @param layers      default {@code num_hidden_layers}
 * @param ownKeys     keys only this model type has (read by its kind's config block)
 * @param refusedKeys shared keys this model type does not have (an error when present)
 */
public record ModelType(String name, int heads, int headDim, double expandV, int layers, Set<String> ownKeys,
        Set<String> refusedKeys) {

    public ModelType {
        ownKeys = Set.copyOf(ownKeys);
        refusedKeys = Set.copyOf(refusedKeys);
    }
}
