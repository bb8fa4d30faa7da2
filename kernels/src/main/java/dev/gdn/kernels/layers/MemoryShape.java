package dev.gdn.kernels.layers;

import java.util.List;

/**
 * One layer's share of a stream memory, as its kind lays it out: the kind's code in the memory format
 * and the dimensions the format's layer header holds (the kind says what they are, and the floats of
 * each of its parts). Sizes come from here, never from the bytes being read.
 *
 * @param kindCode the kind's code ({@link LayerKind#code})
 * @param dims     as many as the kind's header holds ({@link LayerKind#headerDims})
 */
public record MemoryShape(int kindCode, List<Integer> dims) implements java.io.Serializable {
    public MemoryShape {
        dims = List.copyOf(dims);
        LayerKind kind = LayerKinds.byCode(kindCode);
        if (dims.size() != kind.headerDims()) {
            throw new IllegalArgumentException("a " + kind.name() + " layer has " + kind.headerDims()
                    + " dimensions, got " + dims);
        }
    }

    /** A shape of {@code kind} with these dimensions. */
    public static MemoryShape of(LayerKind kind, int... dims) {
        return new MemoryShape(kind.code(), java.util.Arrays.stream(dims).boxed().toList());
    }

    public LayerKind kind() {
        return LayerKinds.byCode(kindCode);
    }

    public int dim(int i) {
        return dims.get(i);
    }

    /** Floats of each part, in the kind's order (see {@link dev.gdn.kernels.model.LayerMemory#parts}). */
    public long[] partFloats() {
        return kind().partFloats(this);
    }

    /** Floats this layer stores. */
    public long floats() {
        long n = 0;
        for (long f : partFloats()) {
            n += f;
        }
        return n;
    }

    @Override
    public String toString() {
        return kind().describe(this);
    }
}
