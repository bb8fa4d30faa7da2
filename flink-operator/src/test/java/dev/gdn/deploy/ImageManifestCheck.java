package dev.gdn.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether a FlinkDeployment manifest fits the image it names, read from the Dockerfile that builds that
 * image (its {@code docker build ... -t IMAGE} line): a GPU only with an image that carries CUDA and the
 * Bytedeco bindings in Flink's lib/; a file system plugin enabled for every checkpoint or savepoint URI
 * scheme, and only plugins the Flink image keeps in opt/ (its entrypoint exits on any other); the job jar
 * copied where the manifest's jarURI points, from the jar the build makes; the entry class that jar runs;
 * the model folder the job is given inside the image.
 */
final class ImageManifestCheck {
    /** What Flink's image keeps in opt/ for ENABLE_BUILT_IN_PLUGINS (file systems), by URI scheme. */
    static final Map<String, List<String>> FILE_SYSTEM_PLUGINS = Map.of(
            "s3", List.of("flink-s3-fs-presto", "flink-s3-fs-hadoop"),
            "s3p", List.of("flink-s3-fs-presto"),
            "s3a", List.of("flink-s3-fs-hadoop"),
            "gs", List.of("flink-gs-fs-hadoop"),
            "abfs", List.of("flink-azure-fs-hadoop"),
            "wasb", List.of("flink-azure-fs-hadoop"),
            "oss", List.of("flink-oss-fs-hadoop"));

    private ImageManifestCheck() {
    }

    /** Each way {@code manifest} does not fit its image; empty when it fits. */
    static List<String> problems(JsonNode manifest, Path deployDir, Path repoRoot) throws IOException {
        List<String> out = new ArrayList<>();
        JsonNode spec = manifest.path("spec");
        JsonNode conf = spec.path("flinkConfiguration");
        String image = spec.path("image").asText();
        Path dockerfile = dockerfileBuilding(image, deployDir);
        if (dockerfile == null) {
            out.add("no Dockerfile in " + deployDir + " builds image '" + image + "'");
            return out;
        }
        String df = Files.readString(dockerfile);
        String from = match(df, "(?m)^FROM\\s+flink:(\\d+\\.\\d+\\.\\d+)");
        if (from == null) {
            out.add(dockerfile.getFileName() + " is not built FROM flink:<version>");
            return out;
        }
        String args = String.join(" ", jobArgs(spec));
        boolean wantsGpu = conf.has("external-resources") || args.contains("--gdn.backend cuda");
        boolean hasCuda = df.contains("cuda-cudart-13") && df.contains("libcublas-13") && df.contains("cuda-nvrtc-13")
                && df.matches("(?s).*COPY\\s+deploy/gpu-lib/\\S*\\s+/opt/flink/lib/.*");
        if (wantsGpu && !hasCuda) {
            out.add("the manifest asks for a GPU but image '" + image + "' (" + dockerfile.getFileName() + ") has no "
                    + "CUDA 13 libraries and Bytedeco bindings in lib/");
        }
        // plugins the image enables: each must be in opt/ of the Flink image, of its version
        String enabled = match(df, "ENABLE_BUILT_IN_PLUGINS=\"([^\"]*)\"");
        List<String> plugins = enabled == null ? List.of() : List.of(enabled.split(";"));
        for (String jar : plugins) {
            boolean known = FILE_SYSTEM_PLUGINS.values().stream().flatMap(List::stream)
                    .anyMatch(p -> jar.equals(p + "-" + from + ".jar"));
            if (!known) {
                out.add(dockerfile.getFileName() + " enables '" + jar + "', which is not a file system plugin of "
                        + "flink:" + from + "'s opt/ (its entrypoint would exit)");
            }
        }
        for (String key : List.of("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir")) {
            String uri = conf.path(key).asText("");
            String scheme = match(uri, "^([a-z0-9]+)://");
            if (scheme == null || scheme.equals("file")) {
                continue;
            }
            List<String> need = FILE_SYSTEM_PLUGINS.getOrDefault(scheme, List.of("(a plugin for " + scheme + ")"));
            if (need.stream().noneMatch(p -> plugins.contains(p + "-" + from + ".jar"))) {
                out.add(key + " is " + uri + " but image '" + image + "' enables none of " + need);
            }
        }
        // the job jar: where the manifest looks for it, copied there from the jar the build makes
        String jarUri = spec.path("job").path("jarURI").asText();
        String inImage = jarUri.replaceFirst("^local://", "");
        String copied = match(df, "(?m)^COPY\\s+(\\S+)\\s+" + Pattern.quote(inImage) + "\\s*$");
        String shaded = match(Files.readString(repoRoot.resolve("flink-operator/pom.xml")),
                "<finalName>(gdn-job)</finalName>");
        if (copied == null) {
            out.add("jarURI " + jarUri + ": " + dockerfile.getFileName() + " copies no jar to " + inImage);
        } else if (shaded == null || !copied.equals("flink-operator/target/" + shaded + ".jar")) {
            out.add(dockerfile.getFileName() + " copies " + copied + ", which the build does not make");
        }
        String entry = spec.path("job").path("entryClass").asText();
        try {
            Class.forName(entry).getMethod("main", String[].class);
        } catch (ReflectiveOperationException e) {
            out.add("entryClass " + entry + " is not a class with a main method in the job");
        }
        // the model the job is given: copied into the image
        Matcher m = Pattern.compile("--gdn\\.model\\.path (/opt/gdn/models/(\\S+))").matcher(args);
        if (m.find() && (!df.matches("(?s).*COPY\\s+models\\s+/opt/gdn/models.*")
                || !Files.isRegularFile(repoRoot.resolve("models").resolve(m.group(2)).resolve("config.json")))) {
            out.add("--gdn.model.path " + m.group(1) + " is not in image '" + image + "'");
        }
        return out;
    }

    private static List<String> jobArgs(JsonNode spec) {
        List<String> a = new ArrayList<>();
        spec.path("job").path("args").forEach(n -> a.add(n.asText()));
        return a;
    }

    /** The Dockerfile in {@code dir} whose build line tags {@code image}; null for none. */
    private static Path dockerfileBuilding(String image, Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("Dockerfile")).sorted().toList()) {
                if (Pattern.compile("docker build -f deploy/" + Pattern.quote(f.getFileName().toString()) + " -t "
                        + Pattern.quote(image) + " ").matcher(Files.readString(f)).find()) {
                    return f;
                }
            }
        }
        return null;
    }

    private static String match(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        return m.find() ? m.group(1) : null;
    }
}
