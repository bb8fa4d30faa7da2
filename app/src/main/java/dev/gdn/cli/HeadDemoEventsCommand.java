package dev.gdn.cli;

import dev.gdn.demo.SensorQueries;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gdn head demo-events}: the labeled event files of the classification demo on the summary model
 * ({@link SensorQueries}): training streams, fresh test streams, and the test queries without their
 * streams' memories.
 */
@Command(name = "demo-events", mixinStandardHelpOptions = true,
        description = {"Write the classification demo's labeled events for the summary model (models/summary):",
            "streams of sensor readings 's3 v17' with queries 'QRY s5' labeled high (sensor 5's latest reading",
            ">= 64), low, or none (never reported). Files: train.jsonl, test.jsonl (other streams, other seed)",
            "and test-memoryless.jsonl (each test query alone on a fresh stream)."})
public final class HeadDemoEventsCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "folder for the three files")
    Path out;

    @Option(names = "--train-streams", defaultValue = "1250",
            description = "training streams (about 8 labeled queries each; default ${DEFAULT-VALUE})")
    int trainStreams;

    @Option(names = "--test-streams", defaultValue = "250", description = "test streams (default ${DEFAULT-VALUE})")
    int testStreams;

    @Option(names = "--seed", defaultValue = "1", description = "the training streams' seed; the test streams "
            + "use another (default ${DEFAULT-VALUE})")
    long seed;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        Files.createDirectories(out);
        List<String> train = SensorQueries.streams(trainStreams, seed, "train");
        List<String> test = SensorQueries.streams(testStreams, ~seed, "test");
        List<String> memoryless = SensorQueries.memoryless(test);
        Files.write(out.resolve("train.jsonl"), train);
        Files.write(out.resolve("test.jsonl"), test);
        Files.write(out.resolve("test-memoryless.jsonl"), memoryless);
        o.printf("wrote %s: %d events over %d streams (%d labeled)%n", out.resolve("train.jsonl"), train.size(),
                trainStreams, labeled(train));
        o.printf("wrote %s: %d events over %d streams (%d labeled)%n", out.resolve("test.jsonl"), test.size(),
                testStreams, labeled(test));
        o.printf("wrote %s: %d queries, each on a fresh stream%n", out.resolve("test-memoryless.jsonl"),
                memoryless.size());
        o.flush();
        return 0;
    }

    private static long labeled(List<String> lines) {
        return lines.stream().filter(l -> l.contains("\"label\":")).count();
    }
}
