package dev.gdn.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/flinkdeployment.yaml} against the schema the Kubernetes API server checks a
 * {@code FlinkDeployment} with (the Flink Kubernetes Operator's CRD, {@code openAPIV3Schema}), and the
 * settings the job needs on a cluster.
 */
class FlinkDeploymentManifestTest {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static JsonSchema crdSchema() throws Exception {
        try (InputStream in = FlinkDeploymentManifestTest.class.getResourceAsStream(
                "/k8s/flinkdeployments.flink.apache.org-v1.yml")) {
            JsonNode crd = YAML.readTree(in);
            JsonNode schema = crd.path("spec").path("versions").get(0).path("schema").path("openAPIV3Schema");
            assertThat(schema.isObject()).as("the CRD has an openAPIV3Schema").isTrue();
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(schema);
        }
    }

    static JsonNode manifest() throws Exception {
        return YAML.readTree(Path.of("../deploy/flinkdeployment.yaml").toFile());
    }

    @Test
    void theManifestValidatesAgainstTheOperatorsCrdSchema() throws Exception {
        JsonNode m = manifest();
        Set<ValidationMessage> errors = crdSchema().validate(m);
        assertThat(errors).as("schema violations").isEmpty();
        assertThat(m.path("apiVersion").asText()).isEqualTo("flink.apache.org/v1beta1");
        assertThat(m.path("kind").asText()).isEqualTo("FlinkDeployment");
    }

    @Test
    void theSchemaRefusesAManifestWithAFlinkVersionItDoesNotKnow() throws Exception {
        ObjectNode m = (ObjectNode) manifest();
        ((ObjectNode) m.path("spec")).put("flinkVersion", "v9_9");
        ((ObjectNode) m.path("spec").path("job")).put("upgradeMode", "sometimes");
        assertThat(crdSchema().validate(m)).as("a broken manifest is caught").hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    void theManifestCarriesWhatTheJobNeedsOnACluster() throws Exception {
        JsonNode spec = manifest().path("spec");
        JsonNode conf = spec.path("flinkConfiguration");
        assertThat(spec.path("flinkVersion").asText()).isEqualTo("v2_2");
        assertThat(spec.path("job").path("jarURI").asText()).endsWith("/gdn-job.jar");
        assertThat(spec.path("job").path("entryClass").asText()).isEqualTo("dev.gdn.job.GdnJobMain");
        assertThat(spec.path("job").path("upgradeMode").asText()).isEqualTo("savepoint");
        // the CUDA bindings load once per JVM: from Flink's lib/, never again from the job jar
        assertThat(conf.path("classloader.parent-first-patterns.additional").asText()).contains("org.bytedeco");
        assertThat(conf.path("external-resources").asText()).isEqualTo("gpu");
        assertThat(conf.path("metrics.reporter.prom.factory.class").asText())
                .isEqualTo("org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
        assertThat(conf.path("state.backend.type").asText()).isEqualTo("rocksdb");
    }
}
