package dev.gdn.operator;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes a {@link StreamResult} as the JSON document the result topic carries, once, at the sink.
 *
 * <pre>
 * EVENT:    {"stream": "s1", "id": "e7", "tokens": 3, "tokens_consumed": 123, "nll": 2.3456,
 *            "top_k": [{"token": 308, "text": "x", "p": 0.98}, ...], "label": "anomaly",
 *            "probs": {"normal": 0.1, "anomaly": 0.9}, "embedding": [...]}
 * RESET:    {"stream", "id", "control": "reset", "tokens_consumed": 0}
 * GENERATE: {"stream", "id", "control": "generate" | "summary", "tokens_consumed", "generated": [ids],
 *            "text" (with a tokenizer), "stop": "stop" | "max_tokens"}
 * ERROR:    {"stream", "id", "error"}
 * </pre>
 * {@code id} appears when the event had one; {@code top_k} when asked for, its {@code text} when
 * decoded; {@code label} and {@code probs} with a classification head; {@code embedding} when enabled.
 * Floats are the shortest decimals that read back as the same float (Jackson's Schubfach writer).
 */
public final class ResultJson {
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamWriteFeature.USE_FAST_DOUBLE_WRITER).build();

    /** One writer per thread (the sink's, a test's): one generator over one buffer, reused for every result. */
    private static final ThreadLocal<ResultJson> WRITERS = ThreadLocal.withInitial(ResultJson::new);

    private final StringBuilder text = new StringBuilder(256);
    private JsonGenerator out;

    private ResultJson() {
    }

    /** {@code r}'s JSON document. */
    public static String write(StreamResult r) {
        return WRITERS.get().document(r);
    }

    /** A failure mid-document leaves the generator unusable: a new one is made. */
    private String document(StreamResult r) {
        text.setLength(0);
        try {
            if (out == null) {
                out = JSON.createGenerator(new Appender(text));
                out.setRootValueSeparator(null);
            }
            write(out, r);
            out.flush();
        } catch (IOException | RuntimeException ex) {
            out = null;
            throw ex instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) ex;
        }
        return text.toString();
    }

    private static void write(JsonGenerator g, StreamResult r) throws IOException {
        g.writeStartObject();
        g.writeStringField("stream", r.stream);
        if (r.id != null) {
            g.writeStringField("id", r.id);
        }
        switch (r.kind) {
            case EVENT -> event(g, r);
            case RESET -> {
                g.writeStringField("control", "reset");
                g.writeNumberField("tokens_consumed", r.tokensConsumed);
            }
            case GENERATE, SUMMARY -> {
                g.writeStringField("control", r.control);
                g.writeNumberField("tokens_consumed", r.tokensConsumed);
                g.writeArrayFieldStart("generated");
                for (int t : r.generated) {
                    g.writeNumber(t);
                }
                g.writeEndArray();
                if (r.text != null) {
                    g.writeStringField("text", r.text);
                }
                g.writeStringField("stop", r.stop);
            }
            case ERROR -> g.writeStringField("error", r.error);
        }
        g.writeEndObject();
    }

    private static void event(JsonGenerator g, StreamResult r) throws IOException {
        g.writeNumberField("tokens", r.tokens);
        g.writeNumberField("tokens_consumed", r.tokensConsumed);
        g.writeFieldName("nll");
        if (Float.isNaN(r.nll)) {
            g.writeNull();
        } else {
            g.writeNumber(r.nll);
        }
        if (r.topTokens != null) {
            g.writeArrayFieldStart("top_k");
            for (int i = 0; i < r.topTokens.length; i++) {
                g.writeStartObject();
                g.writeNumberField("token", r.topTokens[i]);
                if (r.topText != null) {
                    g.writeStringField("text", r.topText[i]);
                }
                g.writeNumberField("p", r.topP[i]);
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        if (r.classProbs != null) {
            float[] p = r.classProbs;
            int best = 0;
            for (int c = 1; c < p.length; c++) {
                if (p[c] > p[best]) {
                    best = c;
                }
            }
            g.writeStringField("label", r.classLabels[best]);
            g.writeObjectFieldStart("probs");
            for (int c = 0; c < p.length; c++) {
                g.writeNumberField(r.classLabels[c], p[c]);
            }
            g.writeEndObject();
        }
        if (r.embedding != null) {
            g.writeArrayFieldStart("embedding");
            for (float f : r.embedding) {
                g.writeNumber(f);
            }
            g.writeEndArray();
        }
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
}
