package dev.gdn.operator;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.text.ModelTokenizer;
import java.nio.file.Path;
import org.apache.flink.configuration.Configuration;

/** The bundle core's settings and sizes, read from the job's options ({@link GdnOptions}). */
final class BundleSettings {
    private BundleSettings() {
    }

    /**
     * The core's settings; the summary generation's text needs the model's tokenizer.
     *
     * @param tokenizer the model's tokenizer, null for none
     * @param dir       the model folder, for messages
     * @param onGpu     whether the model runs on the GPU (the default of gdn.state.log-tokens)
     */
    static BundleCore.Settings of(Configuration c, ModelTokenizer tokenizer, Path dir, boolean onGpu) {
        int everyTokens = c.get(GdnOptions.SUMMARY_EVERY_TOKENS);
        int everyEvents = c.get(GdnOptions.SUMMARY_EVERY_EVENTS);
        boolean summaries = everyTokens > 0 || everyEvents > 0 || !c.get(GdnOptions.SUMMARY_INTERVAL).isZero();
        return new BundleCore.Settings(everyTokens, everyEvents, summaries ? summarySpec(c, tokenizer, dir) : null,
                c.get(GdnOptions.IDLE_TTL).toMillis(), c.get(GdnOptions.CACHE_ENABLED),
                c.get(GdnOptions.GENERATE_MAX_CONCURRENT), c.getOptional(GdnOptions.LOG_TOKENS)
                        .orElse(onGpu ? GdnOptions.LOG_TOKENS_GPU : GdnOptions.LOG_TOKENS_CPU));
    }

    /** The generation of the summary policy, from its options; text needs the model's tokenizer. */
    static GenerateSpec summarySpec(Configuration c, ModelTokenizer tokenizer, Path dir) {
        String prompt = c.get(GdnOptions.SUMMARY_PROMPT);
        String stop = c.get(GdnOptions.SUMMARY_STOP);
        if (tokenizer == null && (!prompt.isEmpty() || !stop.isEmpty())) {
            throw new IllegalArgumentException(GdnOptions.SUMMARY_PROMPT.key() + " / " + GdnOptions.SUMMARY_STOP.key()
                    + " are text and the model folder " + dir + " has no " + ModelTokenizer.FILE);
        }
        int[] p = prompt.isEmpty() ? new int[0] : encode(tokenizer, GdnOptions.SUMMARY_PROMPT.key(), prompt);
        int[][] s = stop.isEmpty() ? new int[0][] : new int[][] {encode(tokenizer, GdnOptions.SUMMARY_STOP.key(), stop)};
        GenerateSpec spec = new GenerateSpec(p, c.get(GdnOptions.SUMMARY_MAX_TOKENS), c.get(GdnOptions.SUMMARY_TEMPERATURE),
                c.get(GdnOptions.SUMMARY_TOP_K), c.get(GdnOptions.SUMMARY_TOP_P), c.get(GdnOptions.SUMMARY_SEED), s);
        try {
            spec.settings();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the gdn.summary.* generation settings are invalid: " + e.getMessage(), e);
        }
        return spec;
    }

    private static int[] encode(ModelTokenizer tokenizer, String key, String text) {
        try {
            return tokenizer.encode(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(key + " = '" + text + "' could not be encoded by " + tokenizer.file()
                    + ": " + e.getMessage());
        }
    }

    /**
     * Slots of the memory cache: {@code gdn.cache.capacity} bytes divided by the bytes of one memory, at
     * least one. 0: what the engine suggests (on the GPU 40% of the device memory free when the operator
     * opens), else a tenth of the maximum heap for host slots.
     */
    static int cacheSlots(Configuration c, GatedDeltaNetModel model, long bytesPerMemory) {
        long bytes = c.get(GdnOptions.CACHE_CAPACITY).getBytes();
        if (bytes == 0) {
            bytes = model.engine().map(e -> e.residentBytesSuggested()).orElse(0L);
        }
        if (bytes == 0) {
            bytes = Runtime.getRuntime().maxMemory() / 10;
        }
        return (int) Math.max(1, Math.min(1 << 20, bytes / bytesPerMemory));
    }
}
