package dev.gdn.operator;

/**
 * One result of the inference operator, typed: the stream it belongs to (the record's key), what kind of
 * result it is, the event's id, and the fields of that kind. It is written as JSON once, at the sink
 * ({@link #json()}, see {@link ResultJson} for the document); the sink routes by {@link #kind} (summaries
 * may go to their own topic).
 *
 * <p>Public fields and a no-argument constructor; it travels between tasks with a serializer of its own
 * (dev.gdn.operator.wire.StreamResultSerializer: no reflection, and no copy between chained
 * operators, since a result is never changed once emitted). Fields a kind does not use are null (or zero).
 */
public final class StreamResult {
    /** What produced a result. */
    public enum Kind {
        /** An event with tokens: its scores. */
        EVENT,
        /** A reset control event. */
        RESET,
        /** A generate control event. */
        GENERATE,
        /** A summary of a summary policy ({@code gdn.summary.*}). */
        SUMMARY,
        /** An event that could not be run: the reason. */
        ERROR
    }

    public String stream;
    public Kind kind;
    /** The event's id; null for none. */
    public String id;
    /** EVENT: the event's tokens. */
    public int tokens;
    /** EVENT, RESET, GENERATE, SUMMARY: the tokens the stream has consumed after the event. */
    public long tokensConsumed;
    /**
     * EVENT: the mean negative log-likelihood of the event's tokens; NaN when no token had a prediction (written
     * as null: a non-finite score never reaches a result, the event gets an ERROR instead).
     */
    public float nll = Float.NaN;
    /** EVENT: the most likely next tokens after the event (null when not asked for), their probabilities and texts. */
    public int[] topTokens;
    public float[] topP;
    /** Null unless the top tokens' texts were asked for. */
    public String[] topText;
    /** EVENT with a classification head: the class probabilities, in the order of {@link #classLabels}. */
    public float[] classProbs;
    public String[] classLabels;
    /** EVENT with embeddings on: the final normed hidden state after the event. */
    public float[] embedding;
    /** GENERATE, SUMMARY: the control the result names ("generate" or "summary"). */
    public String control;
    /** GENERATE, SUMMARY: the generated token ids, their text (null without a tokenizer), why it stopped. */
    public int[] generated;
    public String text;
    public String stop;
    /** ERROR: why the event could not be run. */
    public String error;

    public StreamResult() {
    }

    private StreamResult(String stream, Kind kind, String id) {
        this.stream = stream;
        this.kind = kind;
        this.id = id;
    }

    /** The scores of an event with tokens. */
    public static StreamResult event(String stream, String id, int tokens, long tokensConsumed, float nll, int[] topTokens,
            float[] topP, String[] topText, float[] classProbs, String[] classLabels, float[] embedding) {
        StreamResult r = new StreamResult(stream, Kind.EVENT, id);
        r.tokens = tokens;
        r.tokensConsumed = tokensConsumed;
        r.nll = nll;
        r.topTokens = topTokens;
        r.topP = topP;
        r.topText = topText;
        r.classProbs = classProbs;
        r.classLabels = classLabels;
        r.embedding = embedding;
        return r;
    }

    /** A reset control event's result: the stream starts afresh. */
    public static StreamResult reset(String stream, String id) {
        return new StreamResult(stream, Kind.RESET, id);
    }

    /** A generation's result ({@code kind} GENERATE or SUMMARY). */
    public static StreamResult generated(String stream, Kind kind, String id, String control, long tokensConsumed, int[] ids,
            String stop, String text) {
        StreamResult r = new StreamResult(stream, kind, id);
        r.control = control;
        r.tokensConsumed = tokensConsumed;
        r.generated = ids;
        r.stop = stop;
        r.text = text;
        return r;
    }

    /** An event that could not be run. */
    public static StreamResult error(String stream, String id, String reason) {
        StreamResult r = new StreamResult(stream, Kind.ERROR, id);
        r.error = reason;
        return r;
    }

    /** The result's JSON document, as the sink writes it. */
    public String json() {
        return ResultJson.write(this);
    }

    /** {@link #json()} in UTF-8, written straight to bytes: what the sink sends. */
    public byte[] jsonUtf8() {
        return ResultJson.utf8(this);
    }

    /** Equal when they are for the same stream, of the same kind, with the same document. */
    @Override
    public boolean equals(Object o) {
        return o instanceof StreamResult r && java.util.Objects.equals(stream, r.stream) && kind == r.kind
                && json().equals(r.json());
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(stream, kind, json());
    }

    @Override
    public String toString() {
        return kind + " " + json();
    }
}
