package dev.gdn.head;

import dev.gdn.demo.DemoEvent;
import dev.gdn.run.RunReport;
import dev.gdn.operator.EventParser;
import dev.gdn.operator.StreamEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An event file as the job would see it: each line parsed by the job's own {@link EventParser} (the
 * model's tokenizer, the same limits), grouped by stream in file order, with the {@code "label"} each
 * event carries. What the job would refuse (a dead letter there) is left out and counted, as are labels
 * on control events (a reset or a generate has no hidden state of its own to classify).
 */
final class LabeledStreams {
    /**
     * One event of a stream that changes its memory.
     *
     * @param tokens the tokens it consumes (empty for a reset)
     * @param reset  whether it is a reset
     * @param label  its label, or null
     */
    record Step(String id, int[] tokens, boolean reset, String label) {
    }

    record Stream(String key, List<Step> steps) {
    }

    private final List<Stream> streams;
    private final int labeled;
    private final int refused;
    private final String firstRefusal;
    private final int labeledControls;

    private LabeledStreams(List<Stream> streams, int labeled, int refused, String firstRefusal, int labeledControls) {
        this.streams = streams;
        this.labeled = labeled;
        this.refused = refused;
        this.firstRefusal = firstRefusal;
        this.labeledControls = labeledControls;
    }

    static LabeledStreams of(List<DemoEvent> events, EventParser parser) {
        Map<String, List<Step>> byStream = new LinkedHashMap<>();
        int labeled = 0;
        int refused = 0;
        String firstRefusal = null;
        int labeledControls = 0;
        for (DemoEvent e : events) {
            String label = RunReport.label(e);
            EventParser.Parsed p = e.stream() == null ? null
                    : parser.parse(e.stream().getBytes(StandardCharsets.UTF_8), e.value());
            if (p == null || !p.ok()) {
                refused++;
                if (firstRefusal == null) {
                    firstRefusal = "event '" + e.id() + "': " + (p == null ? "no stream" : p.error());
                }
                continue;
            }
            StreamEvent ev = p.event();
            if (ev.generate != null) {
                // a fork: the stream's memory does not change
                labeledControls += label != null ? 1 : 0;
                continue;
            }
            if (ev.reset && label != null) {
                labeledControls++;
                label = null;
            }
            labeled += label != null ? 1 : 0;
            byStream.computeIfAbsent(e.stream(), k -> new ArrayList<>())
                    .add(new Step(ev.id != null ? ev.id : e.id(), ev.tokens, ev.reset, label));
        }
        List<Stream> streams = new ArrayList<>(byStream.size());
        byStream.forEach((k, v) -> streams.add(new Stream(k, List.copyOf(v))));
        return new LabeledStreams(List.copyOf(streams), labeled, refused, firstRefusal, labeledControls);
    }

    List<Stream> streams() {
        return streams;
    }

    /** Events with tokens that carry a label. */
    int labeled() {
        return labeled;
    }

    /** Events the job would refuse (dead letters), left out. */
    int refused() {
        return refused;
    }

    /** The first refused event and why, or null. */
    String firstRefusal() {
        return firstRefusal;
    }

    /** Labels carried by control events (resets, generates), not used. */
    int labeledControls() {
        return labeledControls;
    }
}
