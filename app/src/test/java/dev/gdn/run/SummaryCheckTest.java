package dev.gdn.run;


import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.demo.DemoEvent;
import dev.gdn.demo.SensorReadings;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The summary demo's policy summaries are checked against the readings before each, exact or not. */
class SummaryCheckTest {
    private static DemoEvent reading(String stream, int i, String text) {
        return new DemoEvent(stream, stream + "/" + i, ("{\"id\":\"" + stream + "/" + i + "\",\"text\":\"" + text + "\"}")
                .getBytes(StandardCharsets.UTF_8), -1);
    }

    private static String state(String... sensors) {
        StringBuilder b = new StringBuilder();
        for (int s = 0; s < 16; s++) {
            b.append(s == 0 ? "" : " ").append('s').append(s).append(' ')
                    .append(s < sensors.length && sensors[s] != null ? sensors[s] : "NONE");
        }
        return b.toString();
    }

    private static RunReport.Committed summary(String stream, long at, String text) {
        return new RunReport.Committed(stream, ("{\"stream\":\"" + stream + "\",\"id\":\"summary@" + at + "\","
                + "\"control\":\"summary\",\"tokens_consumed\":" + at + ",\"generated\":[1],\"text\":\"" + text
                + "\",\"stop\":\"stop\"}").getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theTruthAtEachTokenCountIsEverySensorsLatestReading() {
        List<DemoEvent> events = List.of(reading("a", 0, "s0 v1"), reading("a", 1, "s2 v5"),
                new DemoEvent("a", "a/sum", "{\"id\":\"a/sum\",\"control\":\"generate\",\"prompt\":\"SUM\"}"
                        .getBytes(StandardCharsets.UTF_8), -1),
                reading("a", 2, "s0 v3 s15 v127"), reading("b", 0, "s1 v9"),
                new DemoEvent("c", "c/0", "{\"id\":\"c/0\",\"tokens\":[16,257]}".getBytes(StandardCharsets.UTF_8), -1));
        SensorReadings r = new SensorReadings(events);
        assertThat(r.truth("a", "summary@2")).isEqualTo(state("v1"));
        assertThat(r.truth("a", "summary@4")).isEqualTo(state("v1", null, "v5"));
        assertThat(r.truth("a", "summary@8")).isEqualTo(state("v3", null, "v5", null, null, null, null, null, null,
                null, null, null, null, null, null, "v127"));
        assertThat(r.truth("a", "summary@3")).as("no event ends at 3 tokens").isNull();
        assertThat(r.truth("b", "summary@2")).isEqualTo(state(null, "v9"));
        assertThat(r.truth("c", "summary@2")).as("token events: no truth to check against").isNull();
    }

    @Test
    void aWrongSummaryCountsAsCheckedButNotExact() throws Exception {
        List<DemoEvent> events = List.of(reading("a", 0, "s0 v1"), reading("a", 1, "s2 v5"));
        List<RunReport.Committed> results = List.of(
                new RunReport.Committed("a", "{\"stream\":\"a\",\"id\":\"a/0\",\"tokens\":2}".getBytes(StandardCharsets.UTF_8)),
                new RunReport.Committed("a", "{\"stream\":\"a\",\"id\":\"a/1\",\"tokens\":2}".getBytes(StandardCharsets.UTF_8)),
                summary("a", 2, state("v1") + " END"), summary("a", 4, state("v1", null, "v6") + " END"));
        var v = new RunReport(events).check(results, List.of());
        assertThat(v.ok()).isTrue();
        assertThat(v.summaryLine()).isEqualTo("summaries: requests=0 exact=0 policy=2 policy_exact=1 (of 2 checked "
                + "against the sensor readings before each)");
    }
}
