package dev.gdn.operator;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.RowScores;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Turns the hidden states of one stream's stretch of tokens into one JSON result per event.
 *
 * <pre>
 * {"stream": "s1", "id": "e7", "tokens": 3, "tokens_consumed": 123, "nll": 2.3456,
 *  "top_k": [{"token": 308, "p": 0.98}, ...], "label": "anomaly", "probs": {"normal": 0.1, "anomaly": 0.9},
 *  "embedding": [...]}
 * </pre>
 * {@code label} and {@code probs} appear when the checkpoint has a classification head
 * ({@code score.weight} and {@code id2label}): the class of the stream after the event.
 * {@code nll} is the mean negative log-likelihood of the event's tokens, each given everything before
 * it (the surprise: an anomaly score); tokens with nothing before them (the first token a stream ever
 * sends, or the first after a reset) have no prediction and are left out; {@code nll} is null when no
 * token has one. {@code top_k} are the most likely next tokens after the event. {@code embedding} (when
 * enabled) is the final normed hidden state after the event.
 */
final class EventScorer {
    /** Floats written by Jackson's Schubfach writer: the shortest decimal that reads back as the same float. */
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamWriteFeature.USE_FAST_DOUBLE_WRITER).build();

    private final GatedDeltaNetModel model;
    private final int topK;
    private final boolean embedding;
    /** The text of one token, for decoded top k entries; null for none. */
    private final java.util.function.IntFunction<String> decode;
    /** One generator for every result, writing into {@link #text} (a scorer serves one thread). */
    private final StringBuilder text = new StringBuilder(256);
    private JsonGenerator out;

    EventScorer(GatedDeltaNetModel model, int topK, boolean embedding) {
        this(model, topK, embedding, null);
    }

    /** As above, each top k entry also carrying its token's {@code "text"} from {@code decode} (may be null). */
    EventScorer(GatedDeltaNetModel model, int topK, boolean embedding, java.util.function.IntFunction<String> decode) {
        this.model = model;
        this.topK = topK;
        this.embedding = embedding;
        this.decode = decode;
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
     * One JSON document per event of every stretch, from the scores of {@link #plan}'s rows.
     *
     * @param hidden {@code [rows, D]} the bundle's final hidden states on the host; needed only when
     *               {@link #needsHidden}
     * @param nonFinite {@code [stretches]} set to the index of each stretch's first event whose scores,
     *               probabilities, class scores or hidden state hold a NaN or an infinity (-1 for none): its
     *               stream's memory may no longer be finite
     * @return per stretch, one JSON document per event
     */
    String[][] results(List<Stretch> stretches, Plan plan, RowScores scores, float[] hidden, int[] nonFinite) {
        int d = model.config().hiddenSize();
        int n = stretches.size();
        int k = plan.rows().k();
        int[] start = plan.start();
        double[] lse = scores.lse();
        float[] targetLogit = scores.target();
        String[][] out = new String[n][];
        for (int s = 0; s < n; s++) {
            Stretch st = stretches.get(s);
            int offset = st.hasPrevious() ? 0 : 1;
            List<StreamEvent> events = st.events();
            out[s] = new String[events.size()];
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
                out[s][i] = json(decode, e, consumed, counted == 0 ? null : sum / counted, top, probs,
                        embedding ? last : null, classes, model.config().labels());
                from = end;
            }
        }
        return out;
    }

    /** The result of a reset control event. */
    String resetResult(StreamEvent e) {
        return json(null, e, 0, null, null, null, null, null, List.of());
    }

    /**
     * The result of a generate control event (or of the summary policy: control "summary"): {@code {"stream",
     * "id", "control": "generate",
     * "tokens_consumed" (the stream's, unchanged), "generated": [ids], "text" (when the model has a
     * tokenizer), "stop": "stop" | "max_tokens"}}.
     */
    String generateResult(StreamEvent e, String control, long consumed, int[] ids, String stop, String text) {
        return result(e, g -> {
            g.writeStringField("control", control);
            g.writeNumberField("tokens_consumed", consumed);
            g.writeArrayFieldStart("generated");
            for (int t : ids) {
                g.writeNumber(t);
            }
            g.writeEndArray();
            if (text != null) {
                g.writeStringField("text", text);
            }
            g.writeStringField("stop", stop);
        });
    }

    /** The result of an event that could not be run: {@code {"stream", "id", "error"}}. */
    String errorResult(StreamEvent e, String reason) {
        return result(e, g -> g.writeStringField("error", reason));
    }

    /** What a result writes: after its stream and id, or (for {@link #write}) the whole document. */
    private interface Fields {
        void write(JsonGenerator g) throws IOException;
    }

    /**
     * One JSON document written by the scorer's one generator into its one buffer (no writer, generator
     * or buffer made per result). A failure mid-document leaves the generator unusable: a new one is made.
     */
    private String write(Fields d) {
        text.setLength(0);
        try {
            if (out == null) {
                out = JSON.createGenerator(new Appender(text));
                out.setRootValueSeparator(null);
            }
            d.write(out);
            out.flush();
        } catch (IOException | RuntimeException ex) {
            out = null;
            throw ex instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) ex;
        }
        return text.toString();
    }

    /** A writer that appends to a builder (no locks, unlike {@link java.io.StringWriter}). */
    private static final class Appender extends java.io.Writer {
        private final StringBuilder to;

        Appender(StringBuilder to) {
            this.to = to;
        }

        @Override
        public void write(char[] buf, int off, int len) {
            to.append(buf, off, len);
        }

        @Override
        public void write(String str, int off, int len) {
            to.append(str, off, off + len);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    /** One result object: {@code "stream"}, {@code "id"} when the event has one, then {@code fields}. */
    private String result(StreamEvent e, Fields fields) {
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("stream", e.stream);
            if (e.id != null) {
                g.writeStringField("id", e.id);
            }
            fields.write(g);
            g.writeEndObject();
        });
    }

    private String json(java.util.function.IntFunction<String> decode, StreamEvent e, long consumed, Double nll,
            int[] top, float[] probs, float[] emb, float[] classes, List<String> labels) {
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("stream", e.stream);
            if (e.id != null) {
                g.writeStringField("id", e.id);
            }
            if (e.reset) {
                g.writeStringField("control", "reset");
            } else {
                g.writeNumberField("tokens", e.tokens.length);
            }
            g.writeNumberField("tokens_consumed", consumed);
            if (!e.reset) {
                g.writeFieldName("nll");
                if (nll == null) {
                    g.writeNull();
                } else {
                    g.writeNumber((float) (double) nll);
                }
            }
            if (top != null) {
                g.writeArrayFieldStart("top_k");
                for (int i = 0; i < top.length; i++) {
                    g.writeStartObject();
                    g.writeNumberField("token", top[i]);
                    if (decode != null) {
                        g.writeStringField("text", decode.apply(top[i]));
                    }
                    g.writeNumberField("p", probs[i]);
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            if (classes != null) {
                int best = 0;
                for (int c = 1; c < classes.length; c++) {
                    if (classes[c] > classes[best]) {
                        best = c;
                    }
                }
                g.writeStringField("label", labels.get(best));
                g.writeObjectFieldStart("probs");
                for (int c = 0; c < classes.length; c++) {
                    g.writeNumberField(labels.get(c), classes[c]);
                }
                g.writeEndObject();
            }
            if (emb != null) {
                g.writeArrayFieldStart("embedding");
                for (float f : emb) {
                    g.writeNumber(f);
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        });
    }
}
