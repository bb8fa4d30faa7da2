package dev.gdn.kernels.io;

import java.util.Arrays;

/**
 * One entry of a safetensors header.
 *
 * @param name    tensor name
 * @param dtype   element type
 * @param shape   dimensions, outermost first (row-major)
 * @param begin   first byte, relative to the start of the data section
 * @param end     one past the last byte, relative to the start of the data section
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    /** Number of elements: the product of the shape (1 for a scalar). */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The shape as ints; every public tensor we compute with fits in an int per dimension. */
    public int[] intShape() {
        int[] s = new int[shape.length];
        for (int i = 0; i < shape.length; i++) {
            s[i] = Math.toIntExact(shape[i]);
        }
        return s;
    }

    /** True when the shape equals {@code expected}. */
    public boolean hasShape(int... expected) {
        if (expected.length != shape.length) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] != expected[i]) {
                return false;
            }
        }
        return true;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + shapeString();
    }
}
