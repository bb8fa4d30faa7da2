package dev.gdn.operator;

import java.util.Arrays;
import java.util.Objects;

/**
 * A parsed, valid event of one stream: new tokens, or the control event that resets the stream.
 * Public fields and a no-argument constructor; it travels between tasks with a serializer of its own
 * (dev.gdn.operator.wire.StreamEventSerializer: no reflection, no Kryo), and is never changed once parsed.
 */
public final class StreamEvent {
    /** The stream (Kafka key). */
    public String stream;
    /** The event id as given, echoed in the result; null when absent. */
    public String id;
    /** New tokens, in order; empty for a control event. */
    public int[] tokens;
    /** True for {@code {"control":"reset"}}. */
    public boolean reset;
    /** For {@code {"control":"generate"}}: what to generate (null for every other event). */
    public GenerateSpec generate;

    public StreamEvent() {
    }

    public StreamEvent(String stream, String id, int[] tokens, boolean reset) {
        this.stream = stream;
        this.id = id;
        this.tokens = tokens;
        this.reset = reset;
    }

    /** A generate control event. */
    public static StreamEvent generate(String stream, String id, GenerateSpec spec) {
        StreamEvent e = new StreamEvent(stream, id, new int[0], false);
        e.generate = spec;
        return e;
    }

    /** Whether this is a control event (reset or generate) rather than tokens. */
    public boolean isControl() {
        return reset || generate != null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StreamEvent e && reset == e.reset && Objects.equals(stream, e.stream)
                && Objects.equals(id, e.id) && Arrays.equals(tokens, e.tokens) && Objects.equals(generate, e.generate);
    }

    @Override
    public int hashCode() {
        return Objects.hash(stream, id, Arrays.hashCode(tokens), reset, generate);
    }

    @Override
    public String toString() {
        return stream + "/" + id + (reset ? " reset" : generate != null ? " " + generate : " " + Arrays.toString(tokens));
    }
}
