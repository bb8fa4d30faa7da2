package dev.gdn.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a JSON-lines file of events: {@code {"stream": key, "id": ..., "tokens": [...], "expect": n}};
 * {@code stream} becomes the Kafka key and is removed from the value; {@code expect} (optional) is the
 * token a get must predict, or (a string) the text a generate control must write. A line that is not exactly one JSON object (no duplicate field, nothing
 * after it) with a string {@code stream} is sent as it is, under the stream it names if any (else
 * key-less), and so ends in the dead-letter topic with the job's reason.
 */
public final class EventFiles {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper STRICT = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private EventFiles() {
    }

    private static JsonNode tree(ObjectMapper m, String line) {
        try {
            return m.readTree(line);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * @throws IllegalArgumentException naming the file and line that is not UTF-8 or is longer than
     *     {@code maxLineBytes}
     */
    public static List<DemoEvent> read(Path file, int maxLineBytes) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--input-file " + file + ": no such file");
        }
        List<DemoEvent> out = new ArrayList<>();
        byte[] all = Files.readAllBytes(file);
        int n = 0;
        for (int start = 0; start < all.length; ) {
            int end = start;
            while (end < all.length && all[end] != '\n') {
                end++;
            }
            int next = end + 1;
            if (end > start && all[end - 1] == '\r') {
                end--;
            }
            n++;
            if (end - start > maxLineBytes) {
                throw new IllegalArgumentException("--input-file " + file + ": line " + n + " has " + (end - start)
                        + " bytes, more than the " + maxLineBytes + " a record of the embedded broker may have");
            }
            String line;
            try {
                line = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                        .decode(java.nio.ByteBuffer.wrap(all, start, end - start)).toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new IllegalArgumentException("--input-file " + file + ": line " + n + " is not UTF-8");
            }
            start = next;
            if (line.isBlank()) {
                continue;
            }
            JsonNode node = tree(STRICT, line);
            if (node == null || !node.isObject() || !node.path("stream").isTextual()) {
                // not one strict JSON object: sent as it is, under its stream when one can be read at all,
                // so that the job refuses it with its own reason (a duplicate field, trailing data, ...)
                JsonNode lenient = tree(JSON, line);
                String stream = lenient != null && lenient.path("stream").isTextual() ? lenient.get("stream").asText()
                        : null;
                out.add(new DemoEvent(stream, "line-" + n, line.getBytes(StandardCharsets.UTF_8), -1));
                continue;
            }
            ObjectNode o = (ObjectNode) node;
            String stream = o.remove("stream").asText();
            int expect = o.path("expect").isIntegralNumber() ? o.get("expect").asInt() : -1;
            String expectText = o.path("expect").isTextual() ? o.get("expect").asText() : null;
            String id = o.path("id").isValueNode() ? o.get("id").asText() : stream + "/line-" + n;
            out.add(new DemoEvent(stream, id, JSON.writeValueAsBytes(o), expect, expectText));
        }
        return out;
    }
}
