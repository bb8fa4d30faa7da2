package dev.gdn.kernels.io;

import java.util.Arrays;

/** Element types a safetensors file may declare, with their size in bytes. */
public enum DType {
    F32(4),
    F16(2),
    BF16(2),
    F64(8),
    I64(8),
    I32(4),
    I16(2),
    I8(1),
    U8(1),
    BOOL(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** True for the types that are read as floats (F32, F16, BF16). */
    public boolean isFloating() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** True for the integer types that are read as ints (I32, I64). */
    public boolean isReadableInteger() {
        return this == I32 || this == I64;
    }

    /**
     * Parses a safetensors dtype string.
     *
     * @throws SafetensorsFormatException naming the value and the accepted ones when unknown
     */
    public static DType parse(String name, String tensor) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        throw new SafetensorsFormatException("tensor '" + tensor + "': unknown dtype '" + name
                + "', expected one of " + Arrays.toString(values()));
    }
}
