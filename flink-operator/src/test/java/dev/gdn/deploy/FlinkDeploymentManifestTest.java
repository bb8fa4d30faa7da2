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
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The two manifests ({@code deploy/flinkdeployment.yaml} for CPUs, {@code flinkdeployment-gpu.yaml} for
 * GPUs) against the schema the Kubernetes API server checks a {@code FlinkDeployment} with (the Flink
 * Kubernetes Operator's CRD, {@code openAPIV3Schema}), the settings the job needs on a cluster, and each
 * against the Dockerfile of its image ({@link ImageManifestCheck}).
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

    static final List<String> MANIFESTS = List.of("flinkdeployment.yaml", "flinkdeployment-gpu.yaml");

    static JsonNode manifest() throws Exception {
        return manifest("flinkdeployment-gpu.yaml");
    }

    static JsonNode manifest(String name) throws Exception {
        return YAML.readTree(Path.of("../deploy", name).toFile());
    }

    @Test
    void bothManifestsValidateAgainstTheOperatorsCrdSchema() throws Exception {
        for (String name : MANIFESTS) {
            JsonNode m = manifest(name);
            Set<ValidationMessage> errors = crdSchema().validate(m);
            assertThat(errors).as(name + ": schema violations").isEmpty();
            assertThat(m.path("apiVersion").asText()).isEqualTo("flink.apache.org/v1beta1");
            assertThat(m.path("kind").asText()).isEqualTo("FlinkDeployment");
        }
    }

    @Test
    void eachManifestFitsTheImageItNames() throws Exception {
        for (String name : MANIFESTS) {
            assertThat(ImageManifestCheck.problems(manifest(name), Path.of("../deploy"), Path.of("..")))
                    .as(name).isEmpty();
        }
        assertThat(manifest("flinkdeployment.yaml").path("spec").path("flinkConfiguration").has("external-resources"))
                .as("the CPU manifest asks for no GPU").isFalse();
    }

    @Test
    void aManifestThatDoesNotFitItsImageIsCaught() throws Exception {
        ObjectNode cpuWithGpu = (ObjectNode) manifest("flinkdeployment.yaml");
        ObjectNode conf = (ObjectNode) cpuWithGpu.path("spec").path("flinkConfiguration");
        conf.put("external-resources", "gpu");
        conf.put("execution.checkpointing.dir", "gs://bucket/checkpoints");
        ((ObjectNode) cpuWithGpu.path("spec").path("job")).put("jarURI", "local:///opt/flink/usrlib/other.jar");
        ((ObjectNode) cpuWithGpu.path("spec").path("job")).put("entryClass", "dev.gdn.job.NoSuchMain");
        assertThat(ImageManifestCheck.problems(cpuWithGpu, Path.of("../deploy"), Path.of("..")))
                .anyMatch(p -> p.contains("asks for a GPU"))
                .anyMatch(p -> p.contains("gs://") && p.contains("flink-gs-fs-hadoop"))
                .anyMatch(p -> p.contains("other.jar"))
                .anyMatch(p -> p.contains("dev.gdn.job.NoSuchMain"));
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
