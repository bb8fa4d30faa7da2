package dev.gdn.operator;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Parses and validates one event, strictly: the Kafka key is the stream id (UTF-8, at most
 * {@code maxKeyBytes}), the value is exactly one UTF-8 JSON object of at most {@code maxValueBytes},
 * {@code {"tokens": [ids...], "id": optional}}, {@code {"text": "...", "id": optional}} (for a model with a
 * tokenizer: see {@link #withTokenizer}) or {@code {"control": "reset", "id": optional}}, with no duplicate
 * field and nothing after the object. Other fields are ignored. Anything else is refused with a reason of
 * at most {@link Reasons#MAX_REASON_CHARS} characters for the dead-letter topic.
 */
public final class EventParser implements Serializable {
    private static final long serialVersionUID = 2L;
    /** Longest event id in characters (it is echoed into every result of the event). */
    public static final int MAX_ID_CHARS = 256;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final int vocabSize;
    private final int maxTokens;
    private final int maxKeyBytes;
    private final int maxValueBytes;
    /** Encodes {@code "text"} events; null for a model without a tokenizer (not serialized: set in open). */
    private transient java.util.function.Function<String, int[]> tokenizer;
    private int maxGenerateTokens = GdnOptions.GENERATE_MAX_TOKENS.defaultValue();

    /** The outcome: an event, or the reason there is none. */
    public record Parsed(StreamEvent event, String error) {
        public boolean ok() {
            return event != null;
        }
    }

    /** A parser with the default key and value size limits of {@link GdnOptions}. */
    public EventParser(int vocabSize, int maxTokens) {
        this(vocabSize, maxTokens, GdnOptions.EVENT_MAX_KEY_BYTES.defaultValue(), GdnOptions.EVENT_MAX_BYTES.defaultValue());
    }

    /**
     * @param vocabSize     token ids must be in {@code [0, vocabSize)}
     * @param maxTokens     most tokens in one event ({@code gdn.event.max-tokens})
     * @param maxKeyBytes   longest Kafka key ({@code gdn.event.max-key-bytes})
     * @param maxValueBytes longest value ({@code gdn.event.max-bytes})
     */
    public EventParser(int vocabSize, int maxTokens, int maxKeyBytes, int maxValueBytes) {
        this.vocabSize = vocabSize;
        this.maxTokens = maxTokens;
        this.maxKeyBytes = maxKeyBytes;
        this.maxValueBytes = maxValueBytes;
    }

    /** This parser, taking {@code "text"} events encoded by {@code encode} (null: none accepted). */
    public EventParser withTokenizer(java.util.function.Function<String, int[]> encode) {
        this.tokenizer = encode;
        return this;
    }

    /** This parser, refusing generate events that ask for more than {@code max} tokens ({@code gdn.generate.max-tokens}). */
    public EventParser withGenerateLimit(int max) {
        this.maxGenerateTokens = max;
        return this;
    }

    /** Parses a record whose key and value arrived whole. */
    public Parsed parse(byte[] key, byte[] value) {
        return parse(key, key == null ? 0 : key.length, value, value == null ? 0 : value.length);
    }

    /**
     * Parses a record of which the source may have kept only a prefix (see {@code RawEvent}).
     *
     * @param keyBytes   the key's size as it arrived
     * @param valueBytes the value's size as it arrived
     */
    public Parsed parse(byte[] key, int keyBytes, byte[] value, int valueBytes) {
        return parse(key, keyBytes, value, valueBytes, true);
    }

    /** As above; {@code streaming} false: always the full parse (to check the streaming path against it). */
    Parsed parse(byte[] key, int keyBytes, byte[] value, int valueBytes, boolean streaming) {
        if (key == null || keyBytes == 0) {
            return bad("missing Kafka key: the key is the stream id");
        }
        if (keyBytes > maxKeyBytes) {
            return bad("Kafka key of " + keyBytes + " bytes, more than gdn.event.max-key-bytes = " + maxKeyBytes);
        }
        if (value == null) {
            return bad("missing value");
        }
        if (valueBytes > maxValueBytes) {
            return bad("event of " + valueBytes + " bytes, more than gdn.event.max-bytes = " + maxValueBytes);
        }
        String stream;
        String text;
        try {
            stream = utf8(key);
        } catch (CharacterCodingException e) {
            return bad("Kafka key is not UTF-8");
        }
        StreamEvent common = streaming ? tokensEvent(stream, value) : null;
        if (common != null) {
            return new Parsed(common, null);
        }
        try {
            text = utf8(value);
        } catch (CharacterCodingException e) {
            return bad("value is not UTF-8 (events are UTF-8 JSON)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            return bad("not JSON (one UTF-8 JSON object per record): " + e.getOriginalMessage());
        }
        if (root == null || root.isMissingNode()) {
            return bad("empty value");
        }
        if (!root.isObject()) {
            return bad("event must be a JSON object");
        }
        String id = null;
        JsonNode idNode = root.get("id");
        if (idNode != null && !idNode.isNull()) {
            if (!idNode.isTextual() && !idNode.isIntegralNumber()) {
                return bad("'id' must be a string or an integer, found " + idNode.getNodeType().name().toLowerCase());
            }
            id = idNode.asText();
            if (id.length() > MAX_ID_CHARS) {
                return bad("'id' has " + id.length() + " characters, more than " + MAX_ID_CHARS);
            }
        }
        JsonNode control = root.get("control");
        JsonNode tokens = root.get("tokens");
        JsonNode textNode = root.get("text");
        if (control != null && control.isTextual() && control.asText().equals("generate")) {
            if (tokens != null || textNode != null) {
                return bad("a generate event carries its 'prompt', not 'tokens' or 'text'");
            }
            return generate(stream, id, root);
        }
        if (control != null) {
            if (!control.isTextual() || !control.asText().equals("reset")) {
                return bad("unknown control " + Reasons.quote(control) + ", expected \"reset\" or \"generate\"");
            }
            if (tokens != null || textNode != null) {
                return bad("a control event carries no 'tokens' or 'text'");
            }
            return new Parsed(new StreamEvent(stream, id, new int[0], true), null);
        }
        if (textNode != null) {
            if (tokens != null) {
                return bad("an event carries 'tokens' or 'text', not both");
            }
            return text(stream, id, "text", textNode);
        }
        if (tokens == null) {
            return bad("missing 'tokens' (or 'text')");
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
                return bad("'tokens'[" + i + "] = " + Reasons.quote(t) + " is not an integer token id");
            }
            int v = t.asInt();
            if (v < 0 || v >= vocabSize) {
                return bad("'tokens'[" + i + "] = " + v + " is outside the vocabulary [0, " + vocabSize + ")");
            }
            ids[i] = v;
        }
        return new Parsed(new StreamEvent(stream, id, ids, false), null);
    }

    /**
     * The common event, {@code {"id": "...", "tokens": [ids]}} (in either order, the id optional), read
     * straight from its bytes as a stream of tokens: no text, no tree. Null for anything else (non-ASCII
     * or zero bytes, other fields, a numeric or null id, a duplicate, an id or token the full parse would refuse,
     * trailing content), which the full parse then accepts or refuses with its reason: this path accepts
     * only what the full parse accepts, and gives the same event.
     */
    private StreamEvent tokensEvent(String stream, byte[] value) {
        for (byte b : value) {
            if (b <= 0) {
                // beyond ASCII, or a zero byte (Jackson would take UTF-16 or UTF-32 for it): the full parse decides
                return null;
            }
        }
        try (JsonParser p = STREAMING.createParser(value)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            String id = null;
            int[] ids = null;
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (name.equals("id") && id == null && v == JsonToken.VALUE_STRING) {
                    id = p.getText();
                    if (id.length() > MAX_ID_CHARS) {
                        return null;
                    }
                } else if (name.equals("tokens") && ids == null && v == JsonToken.START_ARRAY) {
                    ids = tokenIds(p);
                    if (ids == null) {
                        return null;
                    }
                } else {
                    return null;
                }
            }
            if (t != JsonToken.END_OBJECT || ids == null || p.nextToken() != null) {
                return null;
            }
            return new StreamEvent(stream, id, ids, false);
        } catch (IOException e) {
            return null;
        }
    }

    /** The ids of a token array the parser stands at the start of; null unless every one is valid. */
    private int[] tokenIds(JsonParser p) throws IOException {
        int[] ids = new int[8];
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.VALUE_NUMBER_INT) {
            if (p.getNumberType() != JsonParser.NumberType.INT || n == maxTokens) {
                return null;
            }
            int v = p.getIntValue();
            if (v < 0 || v >= vocabSize) {
                return null;
            }
            if (n == ids.length) {
                ids = java.util.Arrays.copyOf(ids, n * 2);
            }
            ids[n++] = v;
        }
        return t == JsonToken.END_ARRAY && n > 0 ? java.util.Arrays.copyOf(ids, n) : null;
    }

    private static final com.fasterxml.jackson.core.JsonFactory STREAMING = new com.fasterxml.jackson.core.JsonFactory();

    /**
     * The fields a generate control may carry; any other is refused (a typo such as 'max_tokenz'). Beside
     * the settings: {@code expect} and {@code label}, annotations of replay and evaluation files that the
     * job ignores.
     */
    private static final java.util.Set<String> GENERATE_FIELDS = java.util.Set.of("control", "id", "prompt",
            "max_tokens", "temperature", "top_k", "top_p", "seed", "stop", "expect", "label");

    private Parsed generate(String stream, String id, JsonNode root) {
        for (var it = root.fieldNames(); it.hasNext();) {
            String field = it.next();
            if (!GENERATE_FIELDS.contains(field)) {
                return bad("a generate control has no field '" + Reasons.quote(field) + "': expected one of "
                        + new java.util.TreeSet<>(GENERATE_FIELDS));
            }
        }
        JsonNode prompt = root.get("prompt");
        int[] ids = new int[0];
        if (prompt != null && !prompt.isNull()) {
            if (prompt.isArray()) {
                ids = new int[prompt.size()];
                for (int i = 0; i < ids.length; i++) {
                    JsonNode t = prompt.get(i);
                    if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocabSize) {
                        return bad("'prompt'[" + i + "] = " + Reasons.quote(t) + " is not a token id in [0, " + vocabSize
                                + ")");
                    }
                    ids[i] = t.asInt();
                }
            } else if (prompt.isTextual()) {
                if (!prompt.asText().isEmpty()) {
                    Parsed p = text(stream, id, "prompt", prompt);
                    if (!p.ok()) {
                        return p;
                    }
                    ids = p.event().tokens;
                }
            } else {
                return bad("'prompt' must be text or an array of token ids");
            }
        }
        if (ids.length > maxTokens) {
            return bad("'prompt' has " + ids.length + " tokens, more than gdn.event.max-tokens = " + maxTokens);
        }
        try {
            int max = intField(root, "max_tokens", Math.min(16, maxGenerateTokens));
            if (max > maxGenerateTokens) {
                return bad("'max_tokens' = " + max + " is more than gdn.generate.max-tokens = " + maxGenerateTokens);
            }
            double temperature = numberField(root, "temperature", 0);
            int topK = intField(root, "top_k", 0);
            double topP = numberField(root, "top_p", 1);
            long seed = root.hasNonNull("seed") ? longField(root, "seed") : 0;
            int[][] stop = stops(root.get("stop"));
            GenerateSpec spec = new GenerateSpec(ids, max, temperature, topK, topP, seed, stop);
            spec.settings(); // every range checked here, so a bad event is a dead letter, not a failure later
            return new Parsed(StreamEvent.generate(stream, id, spec), null);
        } catch (IllegalArgumentException e) {
            return bad(e.getMessage());
        }
    }

    private static int intField(JsonNode root, String name, int def) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            return def;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException("'" + name + "' = " + Reasons.quote(n) + " is not an integer");
        }
        return n.asInt();
    }

    private static long longField(JsonNode root, String name) {
        JsonNode n = root.get(name);
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new IllegalArgumentException("'" + name + "' = " + Reasons.quote(n) + " is not an integer");
        }
        return n.asLong();
    }

    private static double numberField(JsonNode root, String name, double def) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            return def;
        }
        if (!n.isNumber()) {
            throw new IllegalArgumentException("'" + name + "' = " + Reasons.quote(n) + " is not a number");
        }
        return n.asDouble();
    }

    /** Stop sequences: strings (encoded by the tokenizer) or arrays of token ids. */
    private int[][] stops(JsonNode node) {
        if (node == null || node.isNull()) {
            return new int[0][];
        }
        if (!node.isArray() || node.size() > 16) {
            throw new IllegalArgumentException("'stop' must be an array of at most 16 stop sequences");
        }
        int[][] out = new int[node.size()][];
        for (int i = 0; i < out.length; i++) {
            JsonNode s = node.get(i);
            if (s.isTextual()) {
                if (tokenizer == null) {
                    throw new IllegalArgumentException("'stop'[" + i + "] is text, which needs a model with a "
                            + "tokenizer.json: give token ids");
                }
                out[i] = encode("'stop'[" + i + "]", s.asText());
            } else if (s.isArray()) {
                out[i] = new int[s.size()];
                for (int j = 0; j < s.size(); j++) {
                    JsonNode t = s.get(j);
                    if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocabSize) {
                        throw new IllegalArgumentException("'stop'[" + i + "][" + j + "] = " + Reasons.quote(t)
                                + " is not a token id in [0, " + vocabSize + ")");
                    }
                    out[i][j] = t.asInt();
                }
            } else {
                throw new IllegalArgumentException("'stop'[" + i + "] must be text or an array of token ids");
            }
            if (out[i].length == 0 || out[i].length > 64) {
                throw new IllegalArgumentException("'stop'[" + i + "] must be 1 to 64 tokens, found " + out[i].length);
            }
        }
        return out;
    }

    /** The event of text in field {@code field} ({@code "text"}, or a generate's {@code "prompt"}), encoded. */
    private Parsed text(String stream, String id, String field, JsonNode textNode) {
        String f = "'" + field + "'";
        if (tokenizer == null) {
            return bad(f + " needs a model with a tokenizer.json and this model has none: send 'tokens'");
        }
        if (!textNode.isTextual()) {
            return bad(f + " must be a string, found " + textNode.getNodeType().name().toLowerCase());
        }
        int[] ids;
        try {
            ids = encode(f, textNode.asText());
        } catch (IllegalArgumentException e) {
            return bad(e.getMessage());
        }
        if (ids.length == 0) {
            return bad(f + " encodes to no tokens");
        }
        if (ids.length > maxTokens) {
            return bad(f + " encodes to " + ids.length + " tokens, more than gdn.event.max-tokens = " + maxTokens);
        }
        return new Parsed(new StreamEvent(stream, id, ids, false), null);
    }

    /**
     * {@code text} (of the field named {@code what}: a text, a prompt or a stop) as token ids of this model,
     * by the model's tokenizer.
     *
     * @throws IllegalArgumentException naming {@code what}: text with a NUL or an unpaired surrogate, text the
     *     tokenizer fails on, or ids outside the vocabulary
     */
    private int[] encode(String what, String text) {
        String unencodable = unencodable(text);
        if (unencodable != null) {
            throw new IllegalArgumentException(what + " " + unencodable);
        }
        int[] ids;
        try {
            ids = tokenizer.apply(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(what + " could not be encoded by the model's tokenizer: "
                    + e.getMessage());
        }
        for (int v : ids) {
            if (v < 0 || v >= vocabSize) {
                throw new IllegalArgumentException(what + " encodes to token id " + v + ", outside the model's "
                        + "vocabulary [0, " + vocabSize + "): the tokenizer does not belong to this model");
            }
        }
        return ids;
    }

    /**
     * Why {@code text} cannot be given to the tokenizer as it is, or null: a NUL character or an unpaired
     * surrogate (possible through JSON escapes) would be encoded as an unknown token without a word.
     */
    static String unencodable(String text) {
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (ch == 0) {
                return "holds a NUL character (\\u0000) at index " + i + ": text must not contain one";
            }
            if (Character.isHighSurrogate(ch) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(ch)) {
                return "holds an unpaired surrogate (\\u" + String.format("%04x", (int) ch) + ") at index " + i
                        + ": text must be valid Unicode";
            }
        }
        return null;
    }

    /** Strict UTF-8: malformed or unmappable bytes are an error, not a replacement character. */
    private static String utf8(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    }

    private static Parsed bad(String reason) {
        return new Parsed(null, Reasons.bound(reason));
    }
}
