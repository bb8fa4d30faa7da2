package dev.gdn.operator;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import java.io.IOException;
import java.io.StringWriter;
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
    private static final JsonFactory JSON = new JsonFactory();
    private static final int ROW_BLOCK = 64;

    private final GatedDeltaNetModel model;
    private final int topK;
    private final boolean embedding;

    EventScorer(GatedDeltaNetModel model, int topK, boolean embedding) {
        this.model = model;
        this.topK = topK;
        this.embedding = embedding;
    }

    /**
     * @param events        the events of the stretch, in order
     * @param flatTokens    their tokens, concatenated (as fed to the forward pass)
     * @param hidden        {@code [rows, D]} final hidden states of the whole bundle
     * @param firstRow      row of the stretch's first token
     * @param previous      hidden state after the stream's previous token ({@code [D]}), or null
     * @param consumedAfter tokens consumed by the stream after the whole stretch
     * @return one JSON document per event
     */
    String[] score(List<StreamEvent> events, int[] flatTokens, float[] hidden, int firstRow, float[] previous,
            long consumedAfter) {
        int d = model.config().hiddenSize();
        int vocab = model.config().vocabSize();
        int total = flatTokens.length;
        // prediction rows: [previous?, h_0 .. h_{total-1}]; row r predicts the token at position r + offset
        // (position total = the next token after the stretch)
        int offset = previous == null ? 1 : 0;
        int predRows = total + 1 - offset;
        float[] rows = new float[predRows * d];
        if (previous != null) {
            System.arraycopy(previous, 0, rows, 0, d);
        }
        System.arraycopy(hidden, firstRow * d, rows, (1 - offset) * d, total * d);
        double[] lse = new double[predRows];
        float[] targetLogit = new float[predRows];
        int[][] topTokens = new int[events.size()][];
        float[][] topProbs = new float[events.size()][];
        // last prediction row of each event: the row after its last token
        int[] eventEnd = new int[events.size()];
        int pos = 0;
        for (int i = 0; i < events.size(); i++) {
            pos += events.get(i).tokens.length;
            eventEnd[i] = pos;
        }
        for (int b = 0; b < predRows; b += ROW_BLOCK) {
            int n = Math.min(ROW_BLOCK, predRows - b);
            float[] logits = model.logits(rows, b, n);
            for (int r = 0; r < n; r++) {
                int row = b + r;
                int tokenPos = row + offset;
                lse[row] = logSumExp(logits, r * vocab, vocab);
                if (tokenPos >= 0 && tokenPos < total) {
                    targetLogit[row] = logits[r * vocab + flatTokens[tokenPos]];
                }
                for (int i = 0; i < events.size(); i++) {
                    if (tokenPos == eventEnd[i] && topK > 0) {
                        topTokens[i] = new int[Math.min(topK, vocab)];
                        topProbs[i] = new float[topTokens[i].length];
                        topK(logits, r * vocab, vocab, lse[row], topTokens[i], topProbs[i]);
                    }
                }
            }
        }
        String[] out = new String[events.size()];
        long consumed = consumedAfter - total;
        int start = 0;
        for (int i = 0; i < events.size(); i++) {
            StreamEvent e = events.get(i);
            double sum = 0;
            int counted = 0;
            for (int p = start; p < eventEnd[i]; p++) {
                int predRow = p - offset;
                if (predRow >= 0) {
                    sum += lse[predRow] - targetLogit[predRow];
                    counted++;
                }
            }
            consumed += e.tokens.length;
            float[] last = java.util.Arrays.copyOfRange(hidden, (firstRow + eventEnd[i] - 1) * d,
                    (firstRow + eventEnd[i]) * d);
            float[] classes = model.weights().score() == null ? null : model.classify(last);
            out[i] = json(e, consumed, counted == 0 ? null : sum / counted, topTokens[i], topProbs[i],
                    embedding ? last : null, classes, model.config().labels());
            start = eventEnd[i];
        }
        return out;
    }

    /** The result of a reset control event. */
    String resetResult(StreamEvent e) {
        return json(e, 0, null, null, null, null, null, List.of());
    }

    /** The result of an event that could not be run: {@code {"stream", "id", "error"}}. */
    String errorResult(StreamEvent e, String reason) {
        StringWriter w = new StringWriter(256);
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("stream", e.stream);
            if (e.id != null) {
                g.writeStringField("id", e.id);
            }
            g.writeStringField("error", reason);
            g.writeEndObject();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return w.toString();
    }

    private static double logSumExp(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += Math.exp(x[off + i] - max);
        }
        return max + Math.log(s);
    }

    /** The k largest logits, best first (ties: lower token id first), as probabilities. */
    private static void topK(float[] x, int off, int n, double lse, int[] tokens, float[] probs) {
        int k = tokens.length;
        int filled = 0;
        for (int i = 0; i < n; i++) {
            float v = x[off + i];
            if (filled == k && v <= x[off + tokens[k - 1]]) {
                continue;
            }
            int j = filled < k ? filled++ : k - 1;
            while (j > 0 && x[off + tokens[j - 1]] < v) {
                tokens[j] = tokens[j - 1];
                j--;
            }
            tokens[j] = i;
        }
        for (int i = 0; i < k; i++) {
            probs[i] = (float) Math.exp(x[off + tokens[i]] - lse);
        }
    }

    private static String json(StreamEvent e, long consumed, Double nll, int[] top, float[] probs, float[] emb,
            float[] classes, List<String> labels) {
        StringWriter w = new StringWriter(128);
        try (JsonGenerator g = JSON.createGenerator(w)) {
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
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return w.toString();
    }
}
