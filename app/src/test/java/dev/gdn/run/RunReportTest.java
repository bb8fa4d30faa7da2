package dev.gdn.run;


import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.demo.DemoEvent;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a run's report says when there is nothing to measure: never NaN, 0.0000 or -1. */
class RunReportTest {
    private static DemoEvent get(String id, int expect) {
        return new DemoEvent("s", id, ("{\"id\":\"" + id + "\",\"tokens\":[2,17]}").getBytes(StandardCharsets.UTF_8),
                expect);
    }

    private static RunReport.Committed result(String json) {
        return new RunReport.Committed("s", json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void getResultsWithoutTopKAreReportedAsNotCheckedNotAsWrong() throws Exception {
        var v = new RunReport(List.of(get("a", 300), get("b", 301))).check(List.of(
                result("{\"stream\":\"s\",\"id\":\"a\",\"tokens\":2,\"tokens_consumed\":2,\"nll\":1.0}"),
                result("{\"stream\":\"s\",\"id\":\"b\",\"tokens\":2,\"tokens_consumed\":4,\"nll\":1.0}")), List.of());
        assertThat(v.ok()).isTrue();
        assertThat(v.recallLine()).isEqualTo("recall: not checked: the results of the 2 GET events carry no top_k "
                + "(--top-k 0)");
    }

    @Test
    void anInputWithoutRecallQuestionsSaysSoInsteadOfNaN() throws Exception {
        DemoEvent plain = new DemoEvent("s", "a", "{\"id\":\"a\",\"tokens\":[5]}".getBytes(StandardCharsets.UTF_8), -1);
        var v = new RunReport(List.of(plain)).check(List.of(
                result("{\"stream\":\"s\",\"id\":\"a\",\"tokens\":1,\"tokens_consumed\":1,\"nll\":null}")), List.of());
        assertThat(v.recallLine()).isEqualTo("recall: no recall questions (GET events) in this input");
    }

    @Test
    void checkedGetsAreCountedAsBefore() throws Exception {
        var v = new RunReport(List.of(get("a", 300), get("b", 301))).check(List.of(
                result("{\"stream\":\"s\",\"id\":\"a\",\"top_k\":[{\"token\":300,\"p\":0.9}]}"),
                result("{\"stream\":\"s\",\"id\":\"b\",\"top_k\":[{\"token\":7,\"p\":0.9}]}")), List.of());
        assertThat(v.recallLine()).isEqualTo("recall: gets=2 correct=1 accuracy=0.5000");
    }

    private static DemoEvent labeled(String id, String label) {
        return new DemoEvent("s", id, ("{\"id\":\"" + id + "\",\"text\":\"QRY s5\""
                + (label == null ? "" : ",\"label\":\"" + label + "\"") + "}").getBytes(StandardCharsets.UTF_8), -1);
    }

    @Test
    void labeledEventsAreCheckedAgainstTheLabelOfTheirResults() throws Exception {
        var v = new RunReport(List.of(labeled("a", "high"), labeled("b", "low"), labeled("c", null), labeled("d", "low")))
                .check(List.of(result("{\"stream\":\"s\",\"id\":\"a\",\"label\":\"high\"}"),
                        result("{\"stream\":\"s\",\"id\":\"b\",\"label\":\"high\"}"),
                        result("{\"stream\":\"s\",\"id\":\"c\",\"label\":\"low\"}"),
                        result("{\"stream\":\"s\",\"id\":\"d\",\"error\":\"non-finite\"}")), List.of());
        assertThat(v.classificationLine()).isEqualTo(
                "classification: events=2 correct=1 accuracy=0.5000 unchecked=1 (results without a label: errors)");
    }

    @Test
    void labelsWithoutAClassificationHeadAreReportedAsNotCheckedAndNoLabelsAsNoLine() throws Exception {
        var v = new RunReport(List.of(labeled("a", "high"))).check(List.of(
                result("{\"stream\":\"s\",\"id\":\"a\",\"tokens\":2}")), List.of());
        assertThat(v.classificationLine()).isEqualTo("classification: not checked: the results of the 1 labeled events "
                + "carry no label (the model has no classification head: fit one with gdn head fit)");
        var none = new RunReport(List.of(labeled("a", null))).check(List.of(
                result("{\"stream\":\"s\",\"id\":\"a\",\"label\":\"high\"}")), List.of());
        assertThat(none.classificationLine()).isNull();
    }
}
