package dev.gdn.job;

/**
 * A Kafka record as it arrived (a Flink POJO): key and value bytes, their sizes and where the record
 * came from. A key or value over its size limit is kept only as a prefix of
 * {@code gdn.dead-letter.max-bytes} (so that an oversized record is never carried through the job
 * whole), with its original size in {@link #keyBytes} / {@link #valueBytes} and its SHA-256 in
 * {@link #keySha256} / {@link #valueSha256} (null when kept whole).
 */
public final class RawEvent {
    public byte[] key;
    public byte[] value;
    public String topic;
    public int partition;
    public long offset;
    public int keyBytes;
    public int valueBytes;
    public String keySha256;
    public String valueSha256;

    public RawEvent() {
    }

    /** A record kept whole. */
    public RawEvent(byte[] key, byte[] value, String topic, int partition, long offset) {
        this.key = key;
        this.value = value;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.keyBytes = key == null ? 0 : key.length;
        this.valueBytes = value == null ? 0 : value.length;
    }

    /**
     * The record with any key over {@code maxKeyBytes} or value over {@code maxValueBytes} cut to its
     * first {@code keep} bytes, the original size and digest noted.
     */
    public static RawEvent of(byte[] key, byte[] value, String topic, int partition, long offset, int maxKeyBytes,
            int maxValueBytes, int keep) {
        RawEvent e = new RawEvent(key, value, topic, partition, offset);
        if (key != null && key.length > maxKeyBytes) {
            e.keySha256 = BoundedRecords.sha256(key);
            e.key = BoundedRecords.prefix(key, keep);
        }
        if (value != null && value.length > maxValueBytes) {
            e.valueSha256 = BoundedRecords.sha256(value);
            e.value = BoundedRecords.prefix(value, keep);
        }
        return e;
    }
}
