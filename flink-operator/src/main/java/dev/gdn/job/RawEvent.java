package dev.gdn.job;

/** A Kafka record as it arrived: key and value bytes and where it came from (a Flink POJO). */
public final class RawEvent {
    public byte[] key;
    public byte[] value;
    public String topic;
    public int partition;
    public long offset;

    public RawEvent() {
    }

    public RawEvent(byte[] key, byte[] value, String topic, int partition, long offset) {
        this.key = key;
        this.value = value;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
    }
}
