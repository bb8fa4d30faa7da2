package dev.gdn.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.operator.StreamResult;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class BoundedRecordsTest {
    static String header(ProducerRecord<byte[], byte[]> r, String name) {
        return header(r.headers(), name);
    }

    static String header(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> r, String name) {
        return header(r.headers(), name);
    }

    static String header(org.apache.kafka.common.header.Headers headers, String name) {
        var h = headers.lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    static long size(ProducerRecord<byte[], byte[]> r) {
        return size(r.key(), r.value(), r.headers());
    }

    static long size(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> r) {
        return size(r.key(), r.value(), r.headers());
    }

    /** Bytes of key, value and headers: what counts against a record size limit. */
    static long size(byte[] key, byte[] value, org.apache.kafka.common.header.Headers headers) {
        long n = (key == null ? 0 : key.length) + (value == null ? 0 : value.length);
        for (var h : headers) {
            n += h.key().length() + h.value().length;
        }
        return n;
    }

    @Test
    void anOversizedEventIsCutAtTheSourceAndItsDeadLetterKeepsSizeAndDigest() throws Exception {
        byte[] value = new byte[3_000_000];
        java.util.Arrays.fill(value, (byte) 'v');
        byte[] key = "k".repeat(1_000_000).getBytes(StandardCharsets.UTF_8);
        RawEvent e = RawEvent.of(key, value, "in", 1, 42, 1024, 1 << 20, 65536);
        assertThat(e.value).hasSize(65536);
        assertThat(e.key).hasSize(65536);
        assertThat(e.valueBytes).isEqualTo(3_000_000);
        assertThat(e.keyBytes).isEqualTo(1_000_000);
        var r = BoundedRecords.deadLetter("dlq", new DeadLetter(e, "x".repeat(700_000)), 65536);
        assertThat(size(r)).isLessThan(2 * 65536 + BoundedRecords.HEADER_BYTES);
        assertThat(header(r, BoundedRecords.REASON)).hasSizeLessThanOrEqualTo(500);
        assertThat(header(r, BoundedRecords.SOURCE)).isEqualTo("in/1/42");
        assertThat(header(r, BoundedRecords.ORIGINAL_VALUE_BYTES)).isEqualTo("3000000");
        assertThat(header(r, BoundedRecords.ORIGINAL_KEY_BYTES)).isEqualTo("1000000");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value));
        assertThat(header(r, BoundedRecords.ORIGINAL_VALUE_SHA256)).isEqualTo(sha);
    }

    @Test
    void aSmallDeadLetterKeepsItsBytesWhole() {
        RawEvent e = new RawEvent("s".getBytes(StandardCharsets.UTF_8), "{oops".getBytes(StandardCharsets.UTF_8),
                "in", 0, 7);
        var r = BoundedRecords.deadLetter("dlq", new DeadLetter(e, "not JSON"), 65536);
        assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo("{oops");
        assertThat(header(r, BoundedRecords.ORIGINAL_VALUE_BYTES)).isNull();
    }

    @Test
    void aResultOverTheLimitBecomesABoundedDeadLetter() {
        var ok = BoundedRecords.result("out", "dlq", "s1", utf8("{\"stream\":\"s1\"}"), 1000, 100);
        assertThat(ok.topic()).isEqualTo("out");
        String big = "{\"stream\":\"s1\",\"embedding\":[" + "0.5,".repeat(1000) + "0.5]}";
        var r = BoundedRecords.result("out", "dlq", "s1", utf8(big), 1000, 100);
        assertThat(r.topic()).isEqualTo("dlq");
        assertThat(r.value()).hasSize(100);
        assertThat(header(r, BoundedRecords.REASON)).isEqualTo("result of " + (big.length() + 2)
                + " bytes, more than gdn.output.max-bytes = 1000");
        assertThat(header(r, BoundedRecords.SOURCE)).isEqualTo("result");
        assertThat(header(r, BoundedRecords.ORIGINAL_VALUE_BYTES)).isEqualTo(Integer.toString(big.length()));
    }

    /** With gdn.summary.topic set, the summary policy's results go there and every other result stays put. */
    @Test
    void summaryResultsGoToTheirOwnTopicWhenOneIsSet() throws Exception {
        var routed = GdnJob.resultSerializer("results", "summaries", "dead", 1 << 20, 1 << 16);
        var unrouted = GdnJob.resultSerializer("results", "", "dead", 1 << 20, 1 << 16);
        StreamResult summary = StreamResult.generated("s", StreamResult.Kind.SUMMARY, "summary@100", "summary", 100,
                new int[] {1}, "max_tokens", null);
        StreamResult generate = StreamResult.generated("s", StreamResult.Kind.GENERATE, "g1", "generate", 100,
                new int[] {1}, "max_tokens", null);
        StreamResult tokens = StreamResult.event("s", "e1", 2, 100, Float.NaN, null, null, null, null, null, null);
        var record = routed.serialize(summary, null, 0L);
        assertThat(record.topic()).isEqualTo("summaries");
        assertThat(new String(record.value(), StandardCharsets.UTF_8)).isEqualTo("{\"stream\":\"s\",\"id\":"
                + "\"summary@100\",\"control\":\"summary\",\"tokens_consumed\":100,\"generated\":[1],\"stop\":\"max_tokens\"}");
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("s");
        assertThat(routed.serialize(generate, null, 0L).topic()).isEqualTo("results");
        assertThat(routed.serialize(tokens, null, 0L).topic()).isEqualTo("results");
        assertThat(unrouted.serialize(summary, null, 0L).topic()).isEqualTo("results");
    }

    private static byte[] utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
