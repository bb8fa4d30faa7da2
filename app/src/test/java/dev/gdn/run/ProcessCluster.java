package dev.gdn.run;


import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A Flink session cluster of separate JVMs, as a distribution's scripts start it: a JobManager
 * ({@code StandaloneSessionClusterEntrypoint}) and TaskManagers ({@code TaskManagerRunner}) on the test's
 * class path less the project's own classes (the job brings those in its jar), one {@code config.yaml};
 * jobs are submitted and steered over the REST API, as {@code flink run} does.
 */
final class ProcessCluster implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * What a Flink distribution does not have: the project's own classes, Kafka (broker, clients, the
     * Flink connector) and the tokenizers (DJL, gson, JNA); on a real cluster they come only with the job jar.
     */
    private static final Pattern NOT_IN_FLINK = Pattern.compile(
            ".*/(kernels|state-backend|flink-operator|benchmarks|app)/target/.*|.*/dev/gdn/.*|.*/[^/]*kafka[^/]*\\.jar"
                    + "|.*/ai/djl/.*|.*/gson-[^/]*\\.jar|.*/jna-[^/]*\\.jar");

    /** The module flags a Flink distribution's config.yaml gives every JVM ({@code env.java.default-opts.all}). */
    private static final List<String> DISTRIBUTION_JVM_OPTS = List.of("-XX:+IgnoreUnrecognizedVMOptions",
            "--add-exports=java.base/sun.net.util=ALL-UNNAMED", "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
            "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
            "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.net=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/java.text=ALL-UNNAMED", "--add-opens=java.base/java.time=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

    private final Path dir;
    private final int restPort;
    private final Process jobManager;
    private final List<Process> taskManagers = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private int started;

    private ProcessCluster(Path dir, int restPort, Process jobManager) {
        this.dir = dir;
        this.restPort = restPort;
        this.jobManager = jobManager;
    }

    /**
     * Starts a JobManager and {@code taskManagers} TaskManagers with {@code conf} on top of the harness's
     * settings (local addresses, free ports, small memory, quick heartbeats), and waits for the TaskManagers
     * to register.
     */
    static ProcessCluster start(Path dir, Map<String, String> conf, int taskManagers) throws Exception {
        return start(dir, conf, java.util.Collections.nCopies(taskManagers, Map.of()));
    }

    /**
     * As {@link #start(Path, Map, int)}, TaskManager i started with {@code taskManagers.get(i)} as dynamic
     * properties of its own ({@code -D key=value}, as {@code taskmanager.sh start -D ...} passes them).
     */
    static ProcessCluster start(Path dir, Map<String, String> conf, List<Map<String, String>> taskManagers)
            throws Exception {
        Files.createDirectories(dir);
        int rest = freePort();
        Map<String, String> c = new LinkedHashMap<>();
        c.put("jobmanager.rpc.address", "localhost");
        c.put("jobmanager.rpc.port", String.valueOf(freePort()));
        c.put("jobmanager.bind-host", "localhost");
        c.put("rest.address", "localhost");
        c.put("rest.bind-address", "localhost");
        c.put("rest.port", String.valueOf(rest));
        c.put("taskmanager.host", "localhost");
        c.put("taskmanager.bind-host", "localhost");
        c.put("jobmanager.memory.process.size", "1000m");
        c.put("taskmanager.memory.process.size", "1400m");
        c.put("taskmanager.numberOfTaskSlots", "2");
        // a killed TaskManager is noticed in seconds, not the default 50
        c.put("heartbeat.interval", "1000");
        c.put("heartbeat.timeout", "5000");
        c.put("io.tmp.dirs", dir.resolve("tmp").toString());
        c.put("web.upload.dir", dir.resolve("upload").toString());
        // jar upload and run over REST, as `flink run` and the web UI submit
        c.put("web.submit.enable", "true");
        c.put("web.cancel.enable", "true");
        c.putAll(conf);
        StringBuilder yaml = new StringBuilder();
        c.forEach((k, v) -> yaml.append(k).append(": ").append(quote(v)).append('\n'));
        Files.createDirectories(dir.resolve("tmp"));
        Files.createDirectories(dir.resolve("upload"));
        Files.writeString(dir.resolve("config.yaml"), yaml.toString());
        Process jm = java(dir, "jobmanager", List.of("-Xmx600m"), "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                List.of());
        ProcessCluster cluster = new ProcessCluster(dir, rest, jm);
        // what Flink's taskmanager.sh derives from the configuration: the JVM's memory flags and the
        // TaskManager's resolved resources as dynamic properties
        var spec = org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils.processSpecFromConfig(
                org.apache.flink.configuration.Configuration.fromMap(c));
        cluster.tmJvm = List.of(org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils.generateJvmParametersStr(spec)
                .trim().split("\\s+"));
        cluster.tmArgs = List.of(org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils
                .generateDynamicConfigsStr(spec).trim().split("\\s+"));
        cluster.awaitRest(Duration.ofSeconds(120));
        for (Map<String, String> own : taskManagers) {
            cluster.startTaskManager(own);
        }
        cluster.awaitTaskManagers(taskManagers.size(), Duration.ofSeconds(120));
        return cluster;
    }

    private static String quote(String v) {
        return v.matches("[A-Za-z0-9_.:/+-]*") ? v : "'" + v.replace("'", "''") + "'";
    }

    /** The class path of the cluster's JVMs: this test's, less what a Flink distribution does not have. */
    static String classPath() {
        List<String> keep = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (!NOT_IN_FLINK.matcher(e.replace('\\', '/')).matches()) {
                keep.add(e);
            }
        }
        return String.join(java.io.File.pathSeparator, keep);
    }

    private static Process java(Path dir, String name, List<String> jvm, String main, List<String> args) throws IOException {
        Path log4j = dir.resolve("log4j2.properties");
        if (!Files.exists(log4j)) {
            Files.writeString(log4j, String.join("\n", "rootLogger.level = INFO", "rootLogger.appenderRef.out.ref = out",
                    "appender.out.type = Console", "appender.out.name = out", "appender.out.layout.type = PatternLayout",
                    "appender.out.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} - %m%n", "logger.kafka.name = org.apache.kafka",
                    "logger.kafka.level = WARN", ""));
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvm);
        cmd.addAll(DISTRIBUTION_JVM_OPTS);
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "-Dlog4j2.configurationFile=" + log4j,
                "-cp", classPath(), main, "--configDir", dir.toString()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
    }

    private List<String> tmJvm;
    private List<String> tmArgs;

    /**
     * A Flink home whose {@code bin/flink} is Flink's own command-line client ({@code CliFrontend}) on the
     * cluster's class path, configured by this cluster's {@code config.yaml}: for scripts written
     * against a distribution's {@code flink run}.
     */
    Path flinkHome() throws IOException {
        Path home = dir.resolve("flink-home");
        Path bin = Files.createDirectories(home.resolve("bin"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m"));
        cmd.addAll(DISTRIBUTION_JVM_OPTS);
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "-Dlog4j2.configurationFile=" + dir.resolve("log4j2.properties"),
                "-cp", classPath(), "org.apache.flink.client.cli.CliFrontend"));
        StringBuilder script = new StringBuilder("#!/usr/bin/env bash\nexport FLINK_CONF_DIR='" + dir + "'\nexec");
        for (String c : cmd) {
            script.append(" '").append(c.replace("'", "'\\''")).append('\'');
        }
        script.append(" \"$@\"\n");
        Path flink = bin.resolve("flink");
        Files.writeString(flink, script.toString());
        flink.toFile().setExecutable(true);
        return home;
    }

    /** Starts one more TaskManager. */
    Process startTaskManager() throws IOException {
        return startTaskManager(Map.of());
    }

    /** Starts one more TaskManager with {@code own} as dynamic properties of its own. */
    Process startTaskManager(Map<String, String> own) throws IOException {
        List<String> args = new ArrayList<>(tmArgs);
        own.forEach((k, v) -> args.addAll(List.of("-D", k + "=" + v)));
        String name = "taskmanager-" + (++started);
        Process tm = java(dir, name, tmJvm, "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", args);
        taskManagers.add(tm);
        names.put(tm, name);
        return tm;
    }

    /** The name of a TaskManager this cluster started (its log is {@code log(name)}). */
    String nameOf(Process tm) {
        return names.get(tm);
    }

    private final Map<Process, String> names = new java.util.IdentityHashMap<>();

    List<Process> taskManagers() {
        return taskManagers.stream().filter(Process::isAlive).toList();
    }

    /** SIGKILL: the TaskManager dies without a word to the JobManager. */
    void kill(Process tm) throws InterruptedException {
        tm.destroyForcibly();
        tm.waitFor(30, TimeUnit.SECONDS);
    }

    int restPort() {
        return restPort;
    }

    String log(String name) {
        try {
            String s = Files.readString(dir.resolve(name + ".log"));
            return s.length() > 20_000 ? s.substring(s.length() - 20_000) : s;
        } catch (IOException e) {
            return "(no log " + name + ": " + e + ")";
        }
    }

    // ---- REST ----

    JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        return answer(path, r);
    }

    JsonNode post(String path, JsonNode body) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        return answer(path, r);
    }

    /** Cancels the job ({@code PATCH /jobs/:id?mode=cancel}). */
    void cancel(String jobId) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri("/jobs/" + jobId + "?mode=cancel"))
                .timeout(Duration.ofSeconds(30)).method("PATCH", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 300) {
            throw new IllegalStateException("cancel of " + jobId + " answered " + r.statusCode() + ": " + r.body());
        }
    }

    private URI uri(String path) {
        return URI.create("http://localhost:" + restPort + path);
    }

    private static JsonNode answer(String path, HttpResponse<String> r) throws IOException {
        if (r.statusCode() == 503) {
            // the dispatcher is not leader yet ("ongoing leader election"): not up, as a refused connection
            throw new IOException(path + " answered 503: " + r.body());
        }
        if (r.statusCode() >= 300) {
            throw new IllegalStateException(path + " answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /** Uploads a job jar ({@code POST /jars/upload}); returns its id. */
    String upload(Path jar) throws IOException, InterruptedException {
        String boundary = "gdn-" + System.nanoTime();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                + jar.getFileName() + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.write(Files.readAllBytes(jar));
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri("/jars/upload")).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
        String file = answer("/jars/upload", r).get("filename").asText();
        return Path.of(file).getFileName().toString();
    }

    /**
     * Runs the uploaded jar's main class ({@code POST /jars/:id/run}) with {@code args}; from
     * {@code savepoint} when not null. Returns the job id.
     */
    String run(String jarId, String entryClass, List<String> args, int parallelism, String savepoint)
            throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        body.put("entryClass", entryClass);
        body.putPOJO("programArgsList", args);
        body.put("parallelism", parallelism);
        if (savepoint != null) {
            body.put("savepointPath", savepoint);
        }
        return post("/jars/" + jarId + "/run", body).get("jobid").asText();
    }

    String status(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId).get("state").asText();
    }

    /** Waits until every task of the job runs. */
    void awaitRunning(String jobId, Duration timeout) throws Exception {
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode job = get("/jobs/" + jobId);
            boolean all = job.get("state").asText().equals("RUNNING");
            for (JsonNode v : job.get("vertices")) {
                all &= v.get("status").asText().equals("RUNNING");
            }
            if (all) {
                return;
            }
            if (System.nanoTime() > until || job.get("state").asText().equals("FAILED")) {
                JsonNode ex = get("/jobs/" + jobId + "/exceptions");
                throw new IllegalStateException("job " + jobId + " is " + job.get("state").asText() + ", not running, after "
                        + timeout + "; its root exception: " + ex.path("root-exception").asText(ex.toString()));
            }
            Thread.sleep(200);
        }
    }

    /** Stops the job with a savepoint into {@code target} ({@code POST /jobs/:id/stop}); returns its path. */
    String stopWithSavepoint(String jobId, Path target) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        body.put("targetDirectory", target.toUri().toString());
        body.put("drain", false);
        String trigger = post("/jobs/" + jobId + "/stop", body).get("request-id").asText();
        long until = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (System.nanoTime() < until) {
            JsonNode s = get("/jobs/" + jobId + "/savepoints/" + trigger);
            if (s.get("status").get("id").asText().equals("COMPLETED")) {
                JsonNode op = s.get("operation");
                if (op.has("failure-cause")) {
                    throw new IllegalStateException("stop-with-savepoint failed: " + op.get("failure-cause"));
                }
                return op.get("location").asText();
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("no savepoint of " + jobId + " within 180 s");
    }

    /**
     * Waits for a checkpoint of the job triggered after {@code afterMillis} (wall clock) to complete;
     * returns when it completed (its last acknowledgement, wall clock).
     */
    long awaitCheckpointTriggeredAfter(String jobId, long afterMillis, Duration timeout) throws Exception {
        long until = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < until) {
            JsonNode done = get("/jobs/" + jobId + "/checkpoints").path("latest").path("completed");
            if (!done.isMissingNode() && !done.isNull() && done.path("trigger_timestamp").asLong() > afterMillis) {
                return done.path("latest_ack_timestamp").asLong();
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("no checkpoint of " + jobId + " completed within " + timeout + "; job is "
                + status(jobId) + "\nJobManager log:\n" + log("jobmanager"));
    }

    /** Waits for the job to end; returns its final state. */
    String awaitEnd(String jobId, Duration timeout) throws Exception {
        long until = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < until) {
            String s = status(jobId);
            if (s.equals("FINISHED") || s.equals("FAILED") || s.equals("CANCELED")) {
                return s;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("job " + jobId + " still " + status(jobId) + " after " + timeout);
    }

    private void awaitRest(Duration timeout) throws Exception {
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                get("/overview");
                return;
            } catch (IOException e) {
                if (!jobManager.isAlive() || System.nanoTime() > until) {
                    throw new IllegalStateException("the JobManager's REST API did not come up; its log:\n" + log("jobmanager"), e);
                }
                Thread.sleep(300);
            }
        }
    }

    /** Waits until {@code n} TaskManagers are registered. */
    void awaitTaskManagers(int n, Duration timeout) throws Exception {
        long until = System.nanoTime() + timeout.toNanos();
        while (get("/taskmanagers").get("taskmanagers").size() < n) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException(n + " TaskManagers did not register; the first one's log:\n" + log("taskmanager-1"));
            }
            Thread.sleep(300);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        for (Process p : taskManagers) {
            p.destroyForcibly();
        }
        jobManager.destroy();
        if (!jobManager.waitFor(20, TimeUnit.SECONDS)) {
            jobManager.destroyForcibly();
        }
        for (Process p : taskManagers) {
            p.waitFor(20, TimeUnit.SECONDS);
        }
    }
}
