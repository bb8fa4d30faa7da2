package dev.gdn.operator;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.RowScores;
import java.util.List;

/**
 * Turns the hidden states of one stream's stretch of tokens into one typed result per event
 * ({@link StreamResult}, written as JSON at the sink by {@link ResultJson}).
 *
 * <p>{@code nll} is the mean negative log-likelihood of the event's tokens, each given everything before
 * it (the surprise: an anomaly score); tokens with nothing before them (the first token a stream ever
 * sends, or the first after a reset) have no prediction and are left out; there is none when no token has
 * one. {@code top_k} are the most likely next tokens after the event; the class probabilities appear
 * when the checkpoint has a classification head ({@code score.weight} and {@code id2label}): the class of
 * the stream after the event. The embedding (when enabled) is the final normed hidden state after the event.
 */
final class EventScorer {
    private final GatedDeltaNetModel model;
    private final int topK;
    private final boolean embedding;
    /** The text of one token, for decoded top k entries; null for none. */
    private final java.util.function.IntFunction<String> decode;
    /** The head's class names, in its order (null without a head). */
    private final String[] labels;

    EventScorer(GatedDeltaNetModel model, int topK, boolean embedding) {
        this(model, topK, embedding, null);
    }

    /** As above, each top k entry also carrying its token's {@code "text"} from {@code decode} (may be null). */
    EventScorer(GatedDeltaNetModel model, int topK, boolean embedding, java.util.function.IntFunction<String> decode) {
        this.model = model;
        this.topK = topK;
        this.embedding = embedding;
        this.decode = decode;
        this.labels = model.weights().score() == null ? null : model.config().labels().toArray(new String[0]);
    }

    /**
     * One stream's stretch of events in a bundle: stream n of the advance is stretch n.
     *
     * @param events        the events of the stretch, in order
     * @param tokens        their tokens, concatenated (as fed to the forward pass)
     * @param firstRow      row of the stretch's first token in the bundle's hidden states
     * @param hasPrevious   whether the stream has a hidden state from before the stretch (its last token's)
     * @param previousInAdvance that hidden state is the advance's row before {@code firstRow} (the stream's
     *                      memory is rebuilt from its tokens in the same pass), not the slot's last one
     * @param consumedAfter tokens consumed by the stream after the whole stretch
     */
    record Stretch(List<StreamEvent> events, int[] tokens, int firstRow, boolean hasPrevious, long consumedAfter,
            boolean previousInAdvance) {
        Stretch(List<StreamEvent> events, int[] tokens, int firstRow, boolean hasPrevious, long consumedAfter) {
            this(events, tokens, firstRow, hasPrevious, consumedAfter, false);
        }
    }

    /**
     * The rows a bundle's stretches are scored on. Stretch s scores rows {@code [previous?, h_0 .. h_{T-1}]}
     * from {@code start[s]}: its row r predicts the token at position {@code r + (hasPrevious ? 0 : 1)}
     * (position T: the next token after the stretch, whose top k are wanted when an event ends there).
     *
     * @param rows     what to score, for {@link dev.gdn.kernels.model.ResidentStreams#advanceScored}
     * @param start    {@code [S + 1]} first scored row of each stretch
     * @param endingAt per stretch, the event ending at each token position ({@code [T + 1]}, -1: none)
     */
    record Plan(ResidentStreams.ScoreRows rows, int[] start, int[][] endingAt) {
    }

    /** Whether results need the bundle's hidden states on the host (embeddings, a classification head). */
    boolean needsHidden() {
        return embedding || model.weights().score() != null;
    }

    /** The rows to score for {@code stretches}, in as few LM-head calls as the engine allows. */
    Plan plan(List<Stretch> stretches) {
        int n = stretches.size();
        int[] start = new int[n + 1];
        for (int s = 0; s < n; s++) {
            Stretch st = stretches.get(s);
            start[s + 1] = start[s] + st.tokens().length + (st.hasPrevious() ? 1 : 0);
        }
        int rowsTotal = start[n];
        int[][] endingAt = new int[n][];
        int[] sources = new int[rowsTotal];
        int[] targets = new int[rowsTotal];
        boolean[] want = new boolean[rowsTotal];
        for (int s = 0; s < n; s++) {
            Stretch st = stretches.get(s);
            endingAt[s] = new int[st.tokens().length + 1];
            java.util.Arrays.fill(endingAt[s], -1);
            int pos = 0;
            for (int i = 0; i < st.events().size(); i++) {
                pos += st.events().get(i).tokens.length;
                endingAt[s][pos] = i;
            }
            int offset = st.hasPrevious() ? 0 : 1;
            for (int row = start[s]; row < start[s + 1]; row++) {
                int tokenPos = row - start[s] + offset;
                // the row before the stretch's first token is the stream's previous hidden state
                sources[row] = tokenPos > 0 || st.previousInAdvance() ? st.firstRow() + tokenPos - 1 : -(s + 1);
                targets[row] = tokenPos < st.tokens().length ? st.tokens()[tokenPos] : -1;
                want[row] = topK > 0 && endingAt[s][tokenPos] >= 0;
            }
        }
        int k = Math.min(topK, model.config().vocabSize());
        return new Plan(new ResidentStreams.ScoreRows(sources, targets, want, k), start, endingAt);
    }

    /**
     * One result per event of every stretch, from the scores of {@link #plan}'s rows.
     *
     * @param hidden {@code [rows, D]} the bundle's final hidden states on the host; needed only when
     *               {@link #needsHidden}
     * @param nonFinite {@code [stretches]} set to the index of each stretch's first event whose scores,
     *               probabilities, class scores or hidden state hold a NaN or an infinity (-1 for none): its
     *               stream's memory may no longer be finite
     * @return per stretch, one result per event
     */
    StreamResult[][] results(List<Stretch> stretches, Plan plan, RowScores scores, float[] hidden, int[] nonFinite) {
        int d = model.config().hiddenSize();
        int n = stretches.size();
        int k = plan.rows().k();
        int[] start = plan.start();
        double[] lse = scores.lse();
        float[] targetLogit = scores.target();
        StreamResult[][] out = new StreamResult[n][];
        for (int s = 0; s < n; s++) {
            Stretch st = stretches.get(s);
            int offset = st.hasPrevious() ? 0 : 1;
            List<StreamEvent> events = st.events();
            out[s] = new StreamResult[events.size()];
            nonFinite[s] = -1;
            long consumed = st.consumedAfter() - st.tokens().length;
            int from = 0;
            for (int i = 0; i < events.size(); i++) {
                StreamEvent e = events.get(i);
                int end = from + e.tokens.length;
                double sum = 0;
                int counted = 0;
                for (int p = from; p < end; p++) {
                    int predRow = p - offset;
                    if (predRow >= 0) {
                        sum += lse[start[s] + predRow] - targetLogit[start[s] + predRow];
                        counted++;
                    }
                }
                consumed += e.tokens.length;
                int[] top = null;
                float[] probs = null;
                int row = start[s] + end - offset;
                if (end - offset >= 0 && plan.endingAt()[s][end] == i && plan.rows().want()[row]) {
                    top = java.util.Arrays.copyOfRange(scores.topIds(), row * k, (row + 1) * k);
                    probs = new float[k];
                    for (int j = 0; j < k; j++) {
                        probs[j] = (float) Math.exp(scores.topLogits()[row * k + j] - lse[row]);
                    }
                }
                float[] last = hidden == null ? null
                        : java.util.Arrays.copyOfRange(hidden, (st.firstRow() + end - 1) * d, (st.firstRow() + end) * d);
                float[] classes = model.weights().score() == null ? null : model.classify(last);
                if (nonFinite[s] < 0 && (!Double.isFinite(sum)
                        || !dev.gdn.kernels.model.LayerMemory.finite(probs, last, classes))) {
                    nonFinite[s] = i;
                }
                String[] texts = null;
                if (top != null && decode != null) {
                    texts = new String[top.length];
                    for (int j = 0; j < top.length; j++) {
                        texts[j] = decode.apply(top[j]);
                    }
                }
                out[s][i] = StreamResult.event(e.stream, e.id, e.tokens.length, consumed,
                        counted == 0 ? Float.NaN : (float) (sum / counted), top, probs, texts, classes, labels,
                        embedding ? last : null);
                from = end;
            }
        }
        return out;
    }

    /** The result of a reset control event. */
    StreamResult resetResult(StreamEvent e) {
        return StreamResult.reset(e.stream, e.id);
    }

    /**
     * The result of a generate control event (or of the summary policy: control "summary"), {@code kind}
     * GENERATE or SUMMARY: the stream's tokens consumed (unchanged), the generated ids, their text (when the
     * model has a tokenizer), and why it stopped ("stop" or "max_tokens").
     */
    StreamResult generateResult(StreamEvent e, StreamResult.Kind kind, String control, long consumed, int[] ids,
            String stop, String text) {
        return StreamResult.generated(e.stream, kind, e.id, control, consumed, ids, stop, text);
    }

    /** The result of an event that could not be run: the reason. */
    StreamResult errorResult(StreamEvent e, String reason) {
        return StreamResult.error(e.stream, e.id, reason);
    }
}
