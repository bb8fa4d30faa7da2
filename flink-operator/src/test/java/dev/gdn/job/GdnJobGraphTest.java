package dev.gdn.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.operator.GdnOptions;
import java.util.List;
import java.util.stream.StreamSupport;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/** gdn.sink.chained: the result sink in the inference operator's task, or in a task of its own. */
class GdnJobGraphTest {
    private static List<String> vertices(boolean chained) {
        Configuration c = new Configuration();
        c.set(GdnOptions.BOOTSTRAP_SERVERS, "localhost:9");
        c.set(GdnOptions.MODEL_PATH, "/models/recall");
        c.set(GdnOptions.SINK_CHAINED, chained);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        GdnJob.build(env, c);
        Iterable<JobVertex> vs = env.getStreamGraph().getJobGraph().getVertices();
        return StreamSupport.stream(vs.spliterator(), false).map(JobVertex::getName).toList();
    }

    @Test
    void theResultSinkRunsInTheOperatorsTaskUnlessUnchained() {
        String inference = vertices(true).stream().filter(n -> n.contains("gdn inference")).findFirst().orElseThrow();
        assertThat(inference).contains("result sink");

        List<String> apart = vertices(false);
        String alone = apart.stream().filter(n -> n.contains("gdn inference")).findFirst().orElseThrow();
        assertThat(alone).doesNotContain("result sink");
        assertThat(apart).anySatisfy(n -> assertThat(n).contains("result sink").doesNotContain("gdn inference"));
    }

    @Test
    void eventsAndResultsTravelWithTheirOwnSerializers() {
        Configuration c = new Configuration();
        c.set(GdnOptions.BOOTSTRAP_SERVERS, "localhost:9");
        c.set(GdnOptions.MODEL_PATH, "/models/recall");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        GdnJob.build(env, c);
        var graph = env.getStreamGraph();
        var inference = graph.getStreamNodes().stream().filter(n -> n.getOperatorName().equals("gdn inference"))
                .findFirst().orElseThrow();
        assertThat(inference.getTypeSerializersIn()).containsExactly(dev.gdn.operator.wire.StreamEventSerializer.INSTANCE);
        assertThat(inference.getTypeSerializerOut()).isSameAs(dev.gdn.operator.wire.StreamResultSerializer.INSTANCE);
    }
}
