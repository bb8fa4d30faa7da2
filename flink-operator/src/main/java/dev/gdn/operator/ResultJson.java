package dev.gdn.operator;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

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
            .enable(com.fasterxml.jackson.core.StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
            // characters outside the Basic Multilingual Plane (emoji) as their UTF-8 bytes, not as escaped surrogate pairs
            .enable(com.fasterxml.jackson.core.json.JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();

    /** One writer per thread (the sink's, a test's): one generator over one buffer, reused for every result. */
    private static final ThreadLocal<ResultJson> WRITERS = ThreadLocal.withInitial(ResultJson::new);

    // field names, quoted and encoded once
    private static final SerializedString STREAM = new SerializedString("stream");
    private static final SerializedString ID = new SerializedString("id");
    private static final SerializedString CONTROL = new SerializedString("control");
    private static final SerializedString TOKENS = new SerializedString("tokens");
    private static final SerializedString TOKENS_CONSUMED = new SerializedString("tokens_consumed");
    private static final SerializedString GENERATED = new SerializedString("generated");
    private static final SerializedString TEXT = new SerializedString("text");
    private static final SerializedString STOP = new SerializedString("stop");
    private static final SerializedString ERROR = new SerializedString("error");
    private static final SerializedString NLL = new SerializedString("nll");
    private static final SerializedString TOP_K = new SerializedString("top_k");
    private static final SerializedString TOKEN = new SerializedString("token");
    private static final SerializedString P = new SerializedString("p");
    private static final SerializedString LABEL = new SerializedString("label");
    private static final SerializedString PROBS = new SerializedString("probs");
    private static final SerializedString EMBEDDING = new SerializedString("embedding");

    private final ByteArrayBuilder bytes = new ByteArrayBuilder(512);
    private final EventResultBytes events = new EventResultBytes();
    private JsonGenerator out;

    private ResultJson() {
    }

    /** {@code r}'s JSON document. */
    public static String write(StreamResult r) {
        return new String(utf8(r), StandardCharsets.UTF_8);
    }

    /** {@code r}'s JSON document in UTF-8, as the result record carries it. */
    public static byte[] utf8(StreamResult r) {
        ResultJson w = WRITERS.get();
        byte[] fast = w.events.write(r);
        return fast != null ? fast : w.document(r);
    }

    /** {@link #utf8} through Jackson's generator always (what the hot path must equal). */
    static byte[] jackson(StreamResult r) {
        return WRITERS.get().document(r);
    }

    /** A failure mid-document leaves the generator unusable: a new one is made. */
    private byte[] document(StreamResult r) {
        bytes.reset();
        try {
            if (out == null) {
                out = JSON.createGenerator(bytes, JsonEncoding.UTF8);
                out.setRootValueSeparator(null);
            }
            write(out, r);
            out.flush();
        } catch (IOException | RuntimeException ex) {
            out = null;
            throw ex instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) ex;
        }
        return bytes.toByteArray();
    }

    private static void write(JsonGenerator g, StreamResult r) throws IOException {
        g.writeStartObject();
        string(g, STREAM, r.stream);
        if (r.id != null) {
            string(g, ID, r.id);
        }
        switch (r.kind) {
            case EVENT -> event(g, r);
            case RESET -> {
                string(g, CONTROL, "reset");
                number(g, TOKENS_CONSUMED, r.tokensConsumed);
            }
            case GENERATE, SUMMARY -> {
                string(g, CONTROL, r.control);
                number(g, TOKENS_CONSUMED, r.tokensConsumed);
                g.writeFieldName(GENERATED);
                g.writeStartArray();
                for (int t : r.generated) {
                    g.writeNumber(t);
                }
                g.writeEndArray();
                if (r.text != null) {
                    string(g, TEXT, r.text);
                }
                string(g, STOP, r.stop);
            }
            case ERROR -> string(g, ERROR, r.error);
        }
        g.writeEndObject();
    }

    /** The most probable class (the first of equals): the result's label. */
    static int best(float[] probs) {
        int best = 0;
        for (int c = 1; c < probs.length; c++) {
            if (probs[c] > probs[best]) {
                best = c;
            }
        }
        return best;
    }

    private static void string(JsonGenerator g, SerializedString name, String value) throws IOException {
        g.writeFieldName(name);
        g.writeString(value);
    }

    private static void number(JsonGenerator g, SerializedString name, long value) throws IOException {
        g.writeFieldName(name);
        g.writeNumber(value);
    }

    private static void number(JsonGenerator g, SerializedString name, float value) throws IOException {
        g.writeFieldName(name);
        g.writeNumber(value);
    }

    private static void event(JsonGenerator g, StreamResult r) throws IOException {
        number(g, TOKENS, r.tokens);
        number(g, TOKENS_CONSUMED, r.tokensConsumed);
        g.writeFieldName(NLL);
        if (Float.isNaN(r.nll)) {
            g.writeNull();
        } else {
            g.writeNumber(r.nll);
        }
        if (r.topTokens != null) {
            g.writeFieldName(TOP_K);
            g.writeStartArray();
            for (int i = 0; i < r.topTokens.length; i++) {
                g.writeStartObject();
                number(g, TOKEN, r.topTokens[i]);
                if (r.topText != null) {
                    string(g, TEXT, r.topText[i]);
                }
                number(g, P, r.topP[i]);
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        if (r.classProbs != null) {
            float[] p = r.classProbs;
            string(g, LABEL, r.classLabels[best(p)]);
            g.writeFieldName(PROBS);
            g.writeStartObject();
            for (int c = 0; c < p.length; c++) {
                g.writeNumberField(r.classLabels[c], p[c]);
            }
            g.writeEndObject();
        }
        if (r.embedding != null) {
            g.writeFieldName(EMBEDDING);
            g.writeStartArray();
            for (float f : r.embedding) {
                g.writeNumber(f);
            }
            g.writeEndArray();
        }
    }
}
