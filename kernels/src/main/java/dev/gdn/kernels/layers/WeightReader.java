package dev.gdn.kernels.layers;

/** Reads one tensor of a checkpoint as fp32, checked against {@code shape} (see {@link LayerKind#load}). */
@FunctionalInterface
public interface WeightReader {
    /** @throws dev.gdn.kernels.io.SafetensorsFormatException when it is missing or shaped otherwise */
    float[] get(String name, int... shape);
}
