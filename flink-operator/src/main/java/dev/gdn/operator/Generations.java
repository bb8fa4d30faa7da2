package dev.gdn.operator;

import dev.gdn.kernels.model.Generator;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.text.ModelTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

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
    private long generations;
    private long generatedTokens;
    private final Predicate<StreamEvent> isIntervalSummary;

    /**
     * @param tokenizer         decodes the generated ids into the result's text; null for none
     * @param maxConcurrent     most generations in one batched call ({@code gdn.generate.max-concurrent})
     * @param isIntervalSummary true (once) for a generate event that stands for a summary due by time
     */
    Generations(Generator generator, ResidentStreams slots, EventScorer scorer, ModelTokenizer tokenizer,
            int maxConcurrent, Predicate<StreamEvent> isIntervalSummary) {
        this.generator = generator;
        this.slots = slots;
        this.scorer = scorer;
        this.tokenizer = tokenizer;
        this.maxConcurrent = maxConcurrent;
        this.isIntervalSummary = isIntervalSummary;
    }

    /**
     * Runs {@code events.get(i)}'s generation for {@code keys.get(i)} on a copy of its stream's memory,
     * batched (at most {@code gdn.generate.max-concurrent} at once), and appends each result.
     */
    void generate(List<KeyWork> keys, List<StreamEvent> events, StreamResult.Kind kind) {
        StreamResult.Kind[] kinds = new StreamResult.Kind[keys.size()];
        java.util.Arrays.fill(kinds, kind);
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
                    kinds[i] = StreamResult.Kind.SUMMARY;
                }
                if (ev.generate.prompt.length == 0 && !slots.hasLastHidden(w.entry.slot)) {
                    w.results.add(error(w, ev, control(kinds[i]) + " with an empty prompt needs a stream that has "
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
                generations++;
                generatedTokens += r.ids().length;
                java.util.Optional<String> text = tokenizer == null ? java.util.Optional.empty()
                        : tokenizer.tryDecode(r.ids());
                if (tokenizer != null && text.isEmpty()) {
                    w.results.add(error(w, events.get(running.get(j)), "the generated token ids "
                            + java.util.Arrays.toString(r.ids()) + " could not be decoded by the model's "
                            + ModelTokenizer.FILE));
                    continue;
                }
                StreamResult.Kind k = kinds[running.get(j)];
                w.results.add(scorer.generateResult(events.get(running.get(j)), k, control(k), w.entry.tokens,
                        r.ids(), r.stop(), text.orElse(null)));
            }
        }
    }

    private StreamResult error(KeyWork w, StreamEvent e, String reason) {
        return scorer.errorResult(e, reason);
    }

    /** The control a generation's result names: "generate" or "summary". */
    private static String control(StreamResult.Kind kind) {
        return kind == StreamResult.Kind.SUMMARY ? "summary" : "generate";
    }

    /** Generations run so far. */
    long generations() {
        return generations;
    }

    /** Tokens generated so far. */
    long generatedTokens() {
        return generatedTokens;
    }

    /** Frees the generator's buffers. */
    void close() {
        generator.close();
    }
}
