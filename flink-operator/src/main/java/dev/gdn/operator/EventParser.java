package dev.gdn.operator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;

/**
 * Parses and validates one event: the Kafka key is the stream id, the value is
 * {@code {"tokens": [ids...], "id": optional}} or {@code {"control": "reset", "id": optional}}.
 * Other fields are ignored. Anything else is refused with a reason for the dead-letter topic.
 */
public final class EventParser implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final int vocabSize;
    private final int maxTokens;

    /** The outcome: an event, or the reason there is none. */
    public record Parsed(StreamEvent event, String error) {
        public boolean ok() {
            return event != null;
        }
    }

    public EventParser(int vocabSize, int maxTokens) {
        this.vocabSize = vocabSize;
        this.maxTokens = maxTokens;
    }

    public Parsed parse(byte[] key, byte[] value) {
        if (key == null || key.length == 0) {
            return bad("missing Kafka key: the key is the stream id");
        }
        String stream;
        try {
            stream = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(key)).toString();
        } catch (CharacterCodingException e) {
            return bad("Kafka key is not UTF-8");
        }
        if (value == null) {
            return bad("missing value");
        }
        JsonNode root;
        try {
            root = JSON.readTree(value);
        } catch (JsonProcessingException e) {
            return bad("not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            return bad("unreadable value: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            return bad("event must be a JSON object");
        }
        String id = null;
        JsonNode idNode = root.get("id");
        if (idNode != null && !idNode.isNull()) {
            if (!idNode.isTextual() && !idNode.isIntegralNumber()) {
                return bad("'id' must be a string or an integer, found " + idNode.getNodeType().name().toLowerCase());
            }
            id = idNode.asText();
        }
        JsonNode control = root.get("control");
        JsonNode tokens = root.get("tokens");
        if (control != null) {
            if (!control.isTextual() || !control.asText().equals("reset")) {
                return bad("unknown control " + control + ", expected \"reset\"");
            }
            if (tokens != null) {
                return bad("a control event carries no 'tokens'");
            }
            return new Parsed(new StreamEvent(stream, id, new int[0], true), null);
        }
        if (tokens == null) {
            return bad("missing 'tokens'");
        }
        if (!tokens.isArray()) {
            return bad("'tokens' must be an array of token ids");
        }
        if (tokens.isEmpty()) {
            return bad("'tokens' is empty");
        }
        if (tokens.size() > maxTokens) {
            return bad("'tokens' has " + tokens.size() + " ids, more than gdn.event.max-tokens = " + maxTokens);
        }
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = tokens.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt()) {
                return bad("'tokens'[" + i + "] = " + t + " is not an integer token id");
            }
            int v = t.asInt();
            if (v < 0 || v >= vocabSize) {
                return bad("'tokens'[" + i + "] = " + v + " is outside the vocabulary [0, " + vocabSize + ")");
            }
            ids[i] = v;
        }
        return new Parsed(new StreamEvent(stream, id, ids, false), null);
    }

    private static Parsed bad(String reason) {
        return new Parsed(null, reason);
    }
}
