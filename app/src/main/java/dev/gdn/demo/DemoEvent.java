package dev.gdn.demo;

/**
 * One event as `gdn run` produces it: the Kafka key (stream), the JSON value, and the expected next
 * token for gets (-1 otherwise).
 *
 * @param stream  Kafka key; null for a deliberately key-less bad event
 * @param id      event id (also inside the value when the value is well-formed)
 * @param value   the JSON value bytes as sent
 * @param expect  the token a get must predict, or -1
 * @param expectText the text a generate control must produce (its stop sequence aside), or null
 */
public record DemoEvent(String stream, String id, byte[] value, int expect, String expectText) {

    /** An event without a text expectation. */
    public DemoEvent(String stream, String id, byte[] value, int expect) {
        this(stream, id, value, expect, null);
    }
}
