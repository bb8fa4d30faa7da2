package dev.gdn.state;

/** How the floats of a stream memory are stored in checkpoints. */
public enum StorageDType {
    /** Bit-exact (the default). */
    FP32(0, 4),
    /** Half the bytes; rounds every float to bfloat16 (nearest even) at each checkpoint. */
    BF16(1, 2);

    private final int code;
    private final int bytes;

    StorageDType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /** The byte written in the format header. */
    public int code() {
        return code;
    }

    /** Bytes per stored float. */
    public int bytes() {
        return bytes;
    }

    /**
     * @throws MemoryFormatException naming the code when unknown
     */
    public static StorageDType ofCode(int code) {
        for (StorageDType d : values()) {
            if (d.code == code) {
                return d;
            }
        }
        throw new MemoryFormatException("storage dtype code " + code + " is unknown, expected 0 (fp32) or 1 (bf16)");
    }
}
