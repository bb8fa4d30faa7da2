package dev.gdn.operator;

import dev.gdn.kernels.model.Generator;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.text.ModelTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;

/**
 * Generations of a bundle, Flink-free: generate controls and summaries, each run on a fork of its
 * stream's resident memory (the stream itself never changes), batched across streams, results appended
 * to each key's work. Also the summary policy's generation, built from its options.
 */
final class Generations {
    private final Generator generator;
    private final ResidentStreams slots;
    private final EventScorer scorer;
    private final ModelTokenizer tokenizer;
    private final int maxConcurrent;
    private final Counter generations;
    private final Counter generatedTokens;
    private final Predicate<StreamEvent> isIntervalSummary;

    /**
     * @param tokenizer         decodes the generated ids into the result's text; null for none
     * @param maxConcurrent     most generations in one batched call ({@code gdn.generate.max-concurrent})
     * @param isIntervalSummary true (once) for a generate event that stands for a summary due by time
     */
    Generations(Generator generator, ResidentStreams slots, EventScorer scorer, ModelTokenizer tokenizer,
            int maxConcurrent, Counter generations, Counter generatedTokens, Predicate<StreamEvent> isIntervalSummary) {
        this.generator = generator;
        this.slots = slots;
        this.scorer = scorer;
        this.tokenizer = tokenizer;
        this.maxConcurrent = maxConcurrent;
        this.generations = generations;
        this.generatedTokens = generatedTokens;
        this.isIntervalSummary = isIntervalSummary;
    }

    /**
     * Runs {@code events.get(i)}'s generation for {@code keys.get(i)} on a copy of its stream's memory,
     * batched (at most {@code gdn.generate.max-concurrent} at once), and appends each result.
     */
    void generate(List<KeyWork> keys, List<StreamEvent> events, String control) {
        String[] controls = new String[keys.size()];
        java.util.Arrays.fill(controls, control);
        for (int from = 0; from < keys.size(); from += maxConcurrent) {
            int to = Math.min(keys.size(), from + maxConcurrent);
            List<Generator.SlotRequest> requests = new ArrayList<>();
            List<Integer> running = new ArrayList<>();
            for (int i = from; i < to; i++) {
                KeyWork w = keys.get(i);
                StreamEvent ev = events.get(i);
                if (isIntervalSummary.test(ev)) {
                    ev = StreamEvent.generate(ev.stream, "summary@" + w.entry.tokens, ev.generate);
                    events.set(i, ev);
                    controls[i] = "summary";
                }
                if (ev.generate.prompt.length == 0 && !slots.hasLastHidden(w.entry.slot)) {
                    w.results.add(scorer.errorResult(ev, controls[i] + " with an empty prompt needs a stream that has "
                            + "seen tokens: give a prompt"));
                    continue;
                }
                requests.add(new Generator.SlotRequest(w.entry.slot, ev.generate.prompt,
                        ev.generate.settings()));
                running.add(i);
            }
            long t0 = System.nanoTime();
            List<Generator.Result> results = generator.generate(slots, requests);
            OperatorStats.advance(System.nanoTime() - t0);
            for (int j = 0; j < running.size(); j++) {
                KeyWork w = keys.get(running.get(j));
                var r = results.get(j);
                generations.inc();
                generatedTokens.inc(r.ids().length);
                java.util.Optional<String> text = tokenizer == null ? java.util.Optional.empty()
                        : tokenizer.tryDecode(r.ids());
                if (tokenizer != null && text.isEmpty()) {
                    w.results.add(scorer.errorResult(events.get(running.get(j)), "the generated token ids "
                            + java.util.Arrays.toString(r.ids()) + " could not be decoded by the model's "
                            + ModelTokenizer.FILE));
                    continue;
                }
                w.results.add(scorer.generateResult(events.get(running.get(j)), controls[running.get(j)], w.entry.tokens, r.ids(),
                        r.stop(), text.orElse(null)));
            }
        }
    }

    private static int[] encodeOption(ModelTokenizer tokenizer, String key, String text) {
        try {
            return tokenizer.encode(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(key + " = '" + text + "' could not be encoded by " + tokenizer.file()
                    + ": " + e.getMessage());
        }
    }

    /** The generation of the summary policy, from its options; text needs the model's tokenizer. */
    static GenerateSpec summarySpec(Configuration c, ModelTokenizer tokenizer, java.nio.file.Path dir) {
        String prompt = c.get(GdnOptions.SUMMARY_PROMPT);
        String stop = c.get(GdnOptions.SUMMARY_STOP);
        if (tokenizer == null && (!prompt.isEmpty() || !stop.isEmpty())) {
            throw new IllegalArgumentException(GdnOptions.SUMMARY_PROMPT.key() + " / " + GdnOptions.SUMMARY_STOP.key()
                    + " are text and the model folder " + dir + " has no " + ModelTokenizer.FILE);
        }
        int[] p = prompt.isEmpty() ? new int[0] : encodeOption(tokenizer, GdnOptions.SUMMARY_PROMPT.key(), prompt);
        int[][] s = stop.isEmpty() ? new int[0][] : new int[][] {encodeOption(tokenizer, GdnOptions.SUMMARY_STOP.key(), stop)};
        GenerateSpec spec = new GenerateSpec(p, c.get(GdnOptions.SUMMARY_MAX_TOKENS), c.get(GdnOptions.SUMMARY_TEMPERATURE),
                c.get(GdnOptions.SUMMARY_TOP_K), c.get(GdnOptions.SUMMARY_TOP_P), c.get(GdnOptions.SUMMARY_SEED), s);
        try {
            spec.settings();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the gdn.summary.* generation settings are invalid: " + e.getMessage(), e);
        }
        return spec;
    }


    /** Frees the generator's buffers. */
    void close() {
        generator.close();
    }
}
