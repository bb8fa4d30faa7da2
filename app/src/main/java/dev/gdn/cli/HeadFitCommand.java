package dev.gdn.cli;

import dev.gdn.demo.DemoEvent;
import dev.gdn.demo.EventFiles;
import dev.gdn.head.HeadCheckpoint;
import dev.gdn.head.HeadFit;
import dev.gdn.job.ParseEvents;
import dev.gdn.kernels.head.SoftmaxRegression;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.text.ModelTokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gdn head fit}: fits a classification head on the memories a model builds over a labeled event
 * file and writes the model with that head ({@link HeadFit}, {@link HeadCheckpoint}).
 */
@Command(name = "fit", mixinStandardHelpOptions = true,
        description = {"Fit a classification head on a stream model's memory.",
            "Runs --model over --events as the job would (same streams, same memories), takes the final hidden",
            "state after each event that carries a \"label\", fits a multinomial logistic regression (L2,",
            "balanced class weights, a bias) on all but the held-out streams, reports accuracy and confusion,",
            "and writes the model with score.weight, score.bias and id2label to --out: run it with",
            "gdn run --model OUT (results carry label and probs)."})
public final class HeadFitCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the stream model")
    Path model;

    @Option(names = "--events", required = true, paramLabel = "FILE",
            description = "JSON lines as for gdn run --input-file; events with a \"label\" are the examples")
    Path events;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "new folder for the model with its head")
    Path out;

    @Option(names = "--classes", split = ",", paramLabel = "A,B,..",
            description = "the classes in id order (default: the labels found, sorted)")
    List<String> classes = List.of();

    @Option(names = "--holdout", defaultValue = "0.2",
            description = "share of the streams held out for validation, 0 to 0.9 (default ${DEFAULT-VALUE})")
    double holdout;

    @Option(names = "--l2", defaultValue = "1e-3", description = "L2 penalty on standardized weights (default ${DEFAULT-VALUE})")
    double l2;

    @Option(names = "--balanced", defaultValue = "true", negatable = true, fallbackValue = "true",
            description = "weigh each class alike (--no-balanced: each event alike; default ${DEFAULT-VALUE})")
    boolean balanced;

    @Option(names = "--seed", defaultValue = "7", description = "chooses the held-out streams (default ${DEFAULT-VALUE})")
    long seed;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        if (!Files.isRegularFile(events)) {
            throw new IllegalArgumentException("--events " + events + ": no such file");
        }
        HeadCheckpoint.checkTarget(model, out);
        HeadFit.Options options = new HeadFit.Options(classes, holdout, seed,
                SoftmaxRegression.Settings.defaults().withL2(l2).withBalanced(balanced));
        GatedDeltaNetModel m = GatedDeltaNetModel.load(model, CpuKernels.fast());
        List<DemoEvent> input = EventFiles.read(events, Integer.MAX_VALUE);
        HeadFit.Result r;
        try (ModelTokenizer tokenizer = ModelTokenizer.forModel(model).orElse(null)) {
            r = HeadFit.fit(m, ParseEvents.parser(new Configuration(), m.config(), tokenizer), input, options);
        }
        HeadCheckpoint.write(model, out, r.classes(), r.head(), m.config().hiddenSize());
        report(o, r);
        o.printf("wrote %s: score.weight [%d, %d], score.bias [%d], id2label %s (run it: gdn run --model %s)%n", out,
                r.classes().size(), m.config().hiddenSize(), r.classes().size(), r.classes(), out);
        o.flush();
        return 0;
    }

    static void report(PrintWriter o, HeadFit.Result r) {
        int labeled = r.train().events() + r.validation().events();
        o.printf(Locale.ROOT, "events: %d labeled over %d streams, %d tokens through the model in %.1f s%s%s%n",
                labeled, r.streams(), r.tokens(), r.featureSeconds(),
                r.refused() > 0 ? "; " + r.refused() + " refused as the job would (first: " + r.firstRefusal() + ")" : "",
                r.labeledControls() > 0 ? "; " + r.labeledControls() + " labels on control events not used" : "");
        StringBuilder counts = new StringBuilder("classes:");
        for (int c = 0; c < r.classes().size(); c++) {
            counts.append(' ').append(r.classes().get(c)).append('=').append(r.classCounts()[c]);
        }
        o.println(counts);
        o.printf(Locale.ROOT, "fit: %d L-BFGS iterations in %.2f s%s%n", r.head().iterations(), r.fitSeconds(),
                r.head().converged() ? "" : " (iteration limit reached before the gradient tolerance)");
        o.printf(Locale.ROOT, "train: streams=%d events=%d accuracy=%.4f%n", r.train().streams(), r.train().events(),
                r.train().accuracy());
        HeadFit.Split shown = r.validation().events() > 0 ? r.validation() : r.train();
        if (r.validation().events() > 0) {
            o.printf(Locale.ROOT, "validation: streams=%d events=%d accuracy=%.4f (streams the fit never saw)%n",
                    r.validation().streams(), r.validation().events(), r.validation().accuracy());
        } else {
            o.println("validation: none (no stream held out: --holdout 0, or too few streams)");
        }
        o.println("confusion (" + (shown == r.train() ? "train" : "validation") + "; rows: label, columns: predicted):");
        int w = 6;
        for (String c : r.classes()) {
            w = Math.max(w, c.length() + 1);
        }
        StringBuilder head = new StringBuilder(String.format("  %-" + w + "s", ""));
        for (String c : r.classes()) {
            head.append(String.format("%" + w + "s", c));
        }
        o.println(head);
        for (int i = 0; i < r.classes().size(); i++) {
            StringBuilder row = new StringBuilder(String.format("  %-" + w + "s", r.classes().get(i)));
            for (int j = 0; j < r.classes().size(); j++) {
                row.append(String.format("%" + w + "d", shown.confusion()[i][j]));
            }
            o.println(row);
        }
    }
}
