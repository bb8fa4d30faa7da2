package dev.gdn.head;

import dev.gdn.demo.DemoEvent;
import dev.gdn.kernels.head.SoftmaxRegression;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.operator.EventParser;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Fits a classification head on a stream model's memory: runs the model over a labeled event file as the
 * job would ({@link LabeledStreams}, {@link MemoryFeatures}), holds out a share of the streams (whole
 * streams, so that validation asks memories the fit never saw), fits a softmax regression on the rest
 * ({@link SoftmaxRegression}) and measures it on both.
 */
public final class HeadFit {
    /** Streams run through the engine together while the features are computed. */
    static final int GROUP = 256;

    /**
     * What to fit.
     *
     * @param classes  the head's classes in id order; empty: the labels found, sorted
     * @param holdout  the share of streams held out for validation, in {@code [0, 0.9]}
     * @param seed     chooses the held-out streams
     * @param settings the regression's settings
     */
    public record Options(List<String> classes, double holdout, long seed, SoftmaxRegression.Settings settings) {
        public Options {
            classes = List.copyOf(classes);
            if (!(holdout >= 0 && holdout <= 0.9)) {
                throw new IllegalArgumentException("--holdout must be in [0, 0.9], got " + holdout);
            }
            if (new TreeSet<>(classes).size() != classes.size()) {
                throw new IllegalArgumentException("--classes names a class twice: " + String.join(",", classes));
            }
            if (classes.size() == 1) {
                throw new IllegalArgumentException("--classes names one class (" + classes.get(0)
                        + "): a classifier needs at least 2");
            }
        }
    }

    /** Accuracy and confusion of a head on some streams' labeled events. */
    public record Split(int streams, int events, int correct, long[][] confusion) {
        public double accuracy() {
            return events == 0 ? Double.NaN : correct / (double) events;
        }
    }

    /**
     * A fitted head and what it measured.
     *
     * @param classes          the head's classes in id order
     * @param classCounts      labeled events per class (all streams)
     * @param train            on the streams it was fitted on
     * @param validation       on the held-out streams (no events when none were held out)
     * @param tokens           tokens the model consumed
     * @param streams          streams in the file
     * @param refused          events the job would refuse, left out
     * @param firstRefusal     the first of them and why, or null
     * @param labeledControls  labels on resets and generates, not used
     * @param featureSeconds   running the model
     * @param fitSeconds       the regression
     */
    public record Result(List<String> classes, SoftmaxRegression.Head head, int[] classCounts, Split train,
            Split validation, long tokens, int streams, int refused, String firstRefusal, int labeledControls,
            double featureSeconds, double fitSeconds) {
    }

    private HeadFit() {
    }

    /**
     * Fits a head for {@code model} on {@code events}.
     *
     * @param parser the job's parser for this model (its tokenizer and limits)
     * @throws IllegalArgumentException when no event carries a label, only one class does, a label is not
     *                                  among {@code classes}, or a class has no event in the training streams
     */
    public static Result fit(GatedDeltaNetModel model, EventParser parser, List<DemoEvent> events, Options o) {
        LabeledStreams input = LabeledStreams.of(events, parser);
        if (input.labeled() == 0) {
            throw new IllegalArgumentException("no event with tokens carries a \"label\""
                    + (input.refused() > 0 ? " (" + input.refused() + " events refused as the job would; first: "
                            + input.firstRefusal() + ")" : "") + ": nothing to fit a head on");
        }
        List<String> classes = o.classes().isEmpty() ? foundClasses(input) : o.classes();
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (int i = 0; i < classes.size(); i++) {
            ids.put(classes.get(i), i);
        }
        for (LabeledStreams.Stream s : input.streams()) {
            for (LabeledStreams.Step st : s.steps()) {
                if (st.label() != null && !ids.containsKey(st.label())) {
                    throw new IllegalArgumentException("event '" + st.id() + "' of stream '" + s.key() + "' is labeled '"
                            + st.label() + "', not one of --classes " + String.join(",", classes));
                }
            }
        }
        if (classes.size() < 2) {
            throw new IllegalArgumentException("every one of the " + input.labeled() + " labeled events is labeled '"
                    + classes.get(0) + "': a classifier needs at least 2 classes");
        }
        long t0 = System.nanoTime();
        MemoryFeatures.Features f = MemoryFeatures.compute(model, input.streams(), GROUP);
        long t1 = System.nanoTime();
        int d = f.dim();
        int n = f.rows().size();
        int[] labels = new int[n];
        boolean[] held = new boolean[n];
        int[] counts = new int[classes.size()];
        java.util.Set<String> heldStreams = new java.util.HashSet<>();
        java.util.Set<String> trainStreams = new java.util.HashSet<>();
        int trainRows = 0;
        for (int i = 0; i < n; i++) {
            MemoryFeatures.Row r = f.rows().get(i);
            labels[i] = ids.get(r.label());
            counts[labels[i]]++;
            held[i] = heldOut(r.stream(), o.holdout(), o.seed());
            (held[i] ? heldStreams : trainStreams).add(r.stream());
            trainRows += held[i] ? 0 : 1;
        }
        float[] x = new float[trainRows * d];
        int[] y = new int[trainRows];
        int[] trainCounts = new int[classes.size()];
        for (int i = 0, k = 0; i < n; i++) {
            if (!held[i]) {
                System.arraycopy(f.x(), i * d, x, k * d, d);
                y[k++] = labels[i];
                trainCounts[labels[i]]++;
            }
        }
        for (int c = 0; c < classes.size(); c++) {
            if (trainCounts[c] == 0) {
                throw new IllegalArgumentException("class '" + classes.get(c) + "' has no labeled event in the "
                        + trainStreams.size() + " training streams (" + counts[c] + " in all): label more events of "
                        + "it, or leave it out of --classes");
            }
        }
        SoftmaxRegression.Head head = SoftmaxRegression.fit(x, d, y, classes.size(), o.settings());
        long t2 = System.nanoTime();
        Split train = measure(head, f, labels, held, false, trainStreams.size(), classes.size());
        Split validation = measure(head, f, labels, held, true, heldStreams.size(), classes.size());
        return new Result(classes, head, counts, train, validation, f.tokens(), input.streams().size(), input.refused(),
                input.firstRefusal(), input.labeledControls(), (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /** Whether a stream is held out: a fixed draw per stream name and seed. */
    static boolean heldOut(String stream, double holdout, long seed) {
        return holdout > 0 && new SplittableRandom(seed * 0x9E3779B97F4A7C15L + stream.hashCode()).nextDouble() < holdout;
    }

    private static List<String> foundClasses(LabeledStreams input) {
        TreeSet<String> found = new TreeSet<>();
        for (LabeledStreams.Stream s : input.streams()) {
            for (LabeledStreams.Step st : s.steps()) {
                if (st.label() != null) {
                    found.add(st.label());
                }
            }
        }
        return new ArrayList<>(found);
    }

    private static Split measure(SoftmaxRegression.Head head, MemoryFeatures.Features f, int[] labels, boolean[] held,
            boolean which, int streams, int classes) {
        long[][] confusion = new long[classes][classes];
        int events = 0;
        int correct = 0;
        for (int i = 0; i < labels.length; i++) {
            if (held[i] == which) {
                int p = head.predict(f.x(), i * f.dim());
                confusion[labels[i]][p]++;
                events++;
                correct += p == labels[i] ? 1 : 0;
            }
        }
        return new Split(streams, events, correct, confusion);
    }
}
