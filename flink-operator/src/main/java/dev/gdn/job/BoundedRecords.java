package dev.gdn.job;

import dev.gdn.operator.Reasons;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Every record the job writes stays within {@code gdn.output.max-bytes}, so that no input can make a
 * sink fail: a dead letter keeps at most {@code gdn.dead-letter.max-bytes} of the original key and of
 * the value (with their original sizes and SHA-256 in headers), its reason at most
 * {@link Reasons#MAX_REASON_CHARS} characters; a result that would be larger than the limit is written
 * as such a bounded dead letter instead.
 *
 * <p>Dead-letter headers: {@value #REASON} (why), {@value #SOURCE} (topic/partition/offset of the
 * event, or {@code result} for a result that was too large), and for a cut record
 * {@value #ORIGINAL_KEY_BYTES} / {@value #ORIGINAL_KEY_SHA256} / {@value #ORIGINAL_VALUE_BYTES} /
 * {@value #ORIGINAL_VALUE_SHA256}.
 */
public final class BoundedRecords {
    public static final String REASON = "gdn.reason";
    public static final String SOURCE = "gdn.source";
    public static final String ORIGINAL_KEY_BYTES = "gdn.original-key-bytes";
    public static final String ORIGINAL_KEY_SHA256 = "gdn.original-key-sha256";
    public static final String ORIGINAL_VALUE_BYTES = "gdn.original-value-bytes";
    public static final String ORIGINAL_VALUE_SHA256 = "gdn.original-value-sha256";

    /** Upper bound of a dead letter's headers in bytes (the reason is at most 500 chars, 4 bytes each). */
    public static final int HEADER_BYTES = 4096;

    private BoundedRecords() {
    }

    /** The dead letter of an event, its key and value cut to {@code keep} bytes each. */
    public static ProducerRecord<byte[], byte[]> deadLetter(String topic, DeadLetter d, int keep) {
        RawEvent e = d.event;
        List<Header> h = new ArrayList<>();
        h.add(header(REASON, Reasons.bound(d.reason)));
        h.add(header(SOURCE, e.offset < 0 ? e.topic : Reasons.quote(e.topic) + "/" + e.partition + "/" + e.offset));
        byte[] key = e.key;
        String keySha = e.keySha256;
        if (key != null && key.length > keep) {
            keySha = sha256(key);
            key = prefix(key, keep);
        }
        byte[] value = e.value;
        String valueSha = e.valueSha256;
        if (value != null && value.length > keep) {
            valueSha = sha256(value);
            value = prefix(value, keep);
        }
        if (keySha != null) {
            h.add(header(ORIGINAL_KEY_BYTES, Integer.toString(e.keyBytes)));
            h.add(header(ORIGINAL_KEY_SHA256, keySha));
        }
        if (valueSha != null) {
            h.add(header(ORIGINAL_VALUE_BYTES, Integer.toString(e.valueBytes)));
            h.add(header(ORIGINAL_VALUE_SHA256, valueSha));
        }
        return new ProducerRecord<>(topic, null, null, key, value, h);
    }

    /**
     * A result record (its document in UTF-8), or, when key and value together exceed {@code maxBytes},
     * a bounded dead letter on {@code deadLetterTopic} saying so.
     */
    public static ProducerRecord<byte[], byte[]> result(String topic, String deadLetterTopic, String stream,
            byte[] value, int maxBytes, int keep) {
        byte[] key = stream.getBytes(StandardCharsets.UTF_8);
        if ((long) key.length + value.length <= maxBytes) {
            return new ProducerRecord<>(topic, key, value);
        }
        RawEvent cut = new RawEvent(key, value, "result", 0, -1);
        return deadLetter(deadLetterTopic, new DeadLetter(cut, "result of " + (key.length + value.length)
                + " bytes, more than gdn.output.max-bytes = " + maxBytes), keep);
    }

    /** The first {@code n} bytes (all of them when shorter). */
    static byte[] prefix(byte[] b, int n) {
        return b.length <= n ? b : Arrays.copyOf(b, n);
    }

    /** SHA-256 in lower-case hex. */
    public static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static Header header(String name, String value) {
        return new RecordHeader(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
