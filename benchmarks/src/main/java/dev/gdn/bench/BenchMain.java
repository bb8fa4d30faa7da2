package dev.gdn.bench;

import java.util.Collection;
import java.util.Locale;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the JMH benchmarks (any JMH command-line options pass through) and prints a table with the
 * derived figures: tokens/s, and for the delta rule the state bandwidth next to the copy bandwidth
 * measured in the same run.
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws RunnerException, org.openjdk.jmh.runner.options.CommandLineOptionException {
        Options cli = new CommandLineOptions(args);
        Options opts = new OptionsBuilder().parent(cli)
                .jvmArgsAppend("--add-modules=jdk.incubator.vector", "-Xmx8g")
                .build();
        Collection<RunResult> results = new Runner(opts).run();
        System.out.println();
        System.out.println(String.format(Locale.ROOT, "%-58s %12s %14s %12s", "benchmark", "ms/op", "tokens/s",
                "GB/s"));
        for (RunResult r : results) {
            var p = r.getParams();
            String name = p.getBenchmark().replaceAll(".*\\.", "");
            double ms = r.getPrimaryResult().getScore();
            StringBuilder label = new StringBuilder(name);
            for (String k : p.getParamsKeys()) {
                label.append(' ').append(k).append('=').append(p.getParam(k));
            }
            double tokens = Double.NaN;
            double gbs = Double.NaN;
            if (p.getBenchmark().contains("DeltaRule")) {
                String shape = p.getParam("shape");
                int streams = Integer.parseInt(p.getParam("streams"));
                int t = Integer.parseInt(p.getParam("tokens"));
                long stateFloats = shape.equals("fla-1b") ? 6L * 256 * 512 : 2L * 64 * 128;
                double bytes = 2.0 * 4 * stateFloats * streams; // read + write of every state
                gbs = bytes / (ms * 1e-3) / 1e9;
                if (!name.equals("copyStates")) {
                    tokens = streams * (double) t / (ms * 1e-3);
                }
            } else if (p.getBenchmark().contains("Serialization")) {
                double fp32Bytes = 4.0 * 21 * (6 * 256 * 512 + 3 * (1536 + 1536 + 3072));
                gbs = fp32Bytes / (ms * 1e-3) / 1e9; // memory (fp32 floats) per second
            } else if (p.getBenchmark().contains("OperatorOverhead")) {
                int keys = Integer.parseInt(p.getParam("keys"));
                tokens = keys * 2.5 / (ms * 1e-3); // recall events average 2.5 tokens
            } else if (p.getBenchmark().contains("ModelForward")) {
                boolean decode = p.getParam("mode").equals("decode");
                tokens = (decode ? 64 : 16 * 64) / (ms * 1e-3);
            }
            System.out.println(String.format(Locale.ROOT, "%-58s %12.3f %14.0f %12.2f", label, ms, tokens, gbs));
        }
    }
}
