package dev.gdn.operator;

import dev.gdn.kernels.cuda.ChunkPrecision;
import dev.gdn.kernels.cuda.MatmulPrecision;
import dev.gdn.kernels.cuda.StatePrecision;
import java.util.Locale;
import org.apache.flink.configuration.Configuration;

/**
 * Where and how a model runs, as one value: the backend, the CPU threads, the GPU's precisions and
 * device. Built from the job's options ({@link #of}) or for the CPU alone ({@link #cpu}); {@link ModelCache}
 * keeps one model per path and spec.
 *
 * @param threads CPU threads (0: every core)
 * @param device  the GPU, when the backend runs on one
 */
public record EngineSpec(Backend backend, int threads, MatmulPrecision matmul, ChunkPrecision chunk,
        StatePrecision state, int device) {
    /** Where the model runs: the GPU when CUDA is usable (else the CPU, saying why), the CPU, or the GPU only. */
    public enum Backend {
        AUTO, CPU, CUDA;

        /** The option's value: {@code auto}, {@code cpu} or {@code cuda}. */
        public String value() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** @throws IllegalArgumentException naming the value and the choices */
        public static Backend parse(String value) {
            for (Backend b : values()) {
                if (b.value().equals(value.trim().toLowerCase(Locale.ROOT))) {
                    return b;
                }
            }
            throw new IllegalArgumentException("backend '" + value + "' is not one of auto, cpu, cuda");
        }
    }

    public EngineSpec {
        if (threads < 0 || device < 0) {
            throw new IllegalArgumentException("threads and device must be >= 0, got " + threads + " and " + device);
        }
    }

    /** The CPU with {@code threads} threads (0: every core), fp32. */
    public static EngineSpec cpu(int threads) {
        return new EngineSpec(Backend.CPU, threads, MatmulPrecision.FP32, ChunkPrecision.FP32, StatePrecision.FP32, 0);
    }

    /** From the job's options ({@code gdn.backend}, {@code gdn.cpu.threads}, {@code gdn.cuda.*}), on GPU {@code device}. */
    public static EngineSpec of(Configuration c, int device) {
        return new EngineSpec(Backend.parse(c.get(GdnOptions.BACKEND)), c.get(GdnOptions.CPU_THREADS),
                MatmulPrecision.parse(c.get(GdnOptions.MATMUL_PRECISION)),
                ChunkPrecision.parse(c.get(GdnOptions.CHUNK_PRECISION)),
                StatePrecision.parse(c.get(GdnOptions.STATE_PRECISION)), device);
    }

    /** This spec with every CPU core resolved: what two specs that run alike share. */
    EngineSpec resolved() {
        return threads > 0 ? this : new EngineSpec(backend, Runtime.getRuntime().availableProcessors(), matmul, chunk,
                state, device);
    }
}
