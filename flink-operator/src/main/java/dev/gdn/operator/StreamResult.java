package dev.gdn.operator;

import java.util.Objects;

/**
 * One result of the inference operator: the stream it belongs to, what kind of result it is, and its JSON
 * document (see {@link EventScorer} for the fields). The sink routes by {@link #kind} (summaries may go to
 * their own topic) and writes {@link #json} as the record's value, keyed by {@link #stream}.
 *
 * <p>A Flink POJO (public fields, a no-argument constructor): it travels with Flink's own serializer.
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
    public String json;

    public StreamResult() {
    }

    public StreamResult(String stream, Kind kind, String json) {
        this.stream = stream;
        this.kind = kind;
        this.json = json;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StreamResult r && Objects.equals(stream, r.stream) && kind == r.kind
                && Objects.equals(json, r.json);
    }

    @Override
    public int hashCode() {
        return Objects.hash(stream, kind, json);
    }

    @Override
    public String toString() {
        return kind + " " + json;
    }
}
