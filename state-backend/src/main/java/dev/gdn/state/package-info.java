/**
 * The per-stream memory as durable Flink state: its binary format, serializer and inspection.
 * The memory value type itself lives in {@code dev.gdn.kernels.model.StreamMemory}.
 */
package dev.gdn.state;
