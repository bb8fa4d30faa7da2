package dev.gdn.cli;

import java.nio.file.Path;
import java.util.List;

/**
 * The parity-gated GPU benchmark tables {@code gdn bench} runs. They live in the benchmarks module (not
 * in the job's jar); {@code ./gdn bench} runs from that module's jar, where a {@link java.util.ServiceLoader}
 * finds them.
 */
public interface GpuBenchmarks {
    /** The tables, by the names {@code --what} takes. */
    List<String> tables();

    /**
     * Runs one table (CUDA must be available), writing its JSON rows to {@code json} when given.
     *
     * @param table  one of {@link #tables()}
     * @param layers layers of the whole-model tables
     * @return 0 when every row was timed, 1 when a parity gate failed (that part is not timed), 3 when
     *     CUDA is unavailable
     */
    int run(String table, Path json, int layers) throws Exception;
}
