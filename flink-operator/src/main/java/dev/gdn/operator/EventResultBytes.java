package dev.gdn.operator;

import com.fasterxml.jackson.core.io.schubfach.FloatToDecimal;
import java.util.Arrays;

/**
 * The hot path of {@link ResultJson}: an event's scores written straight into a byte buffer, for the
 * common case where every text in it (stream, id, token texts, class labels) is printable ASCII that
 * needs no escape and every score is finite. The bytes are those Jackson's generator writes for the
 * same result (floats through the same shortest-decimal writer); anything else is left to Jackson
 * ({@link #write} returns null).
 */
final class EventResultBytes {
    private static final byte[] STREAM = ascii("{\"stream\":\"");
    private static final byte[] ID = ascii("\",\"id\":\"");
    private static final byte[] TOKENS = ascii("\",\"tokens\":");
    private static final byte[] TOKENS_CONSUMED = ascii(",\"tokens_consumed\":");
    private static final byte[] NLL = ascii(",\"nll\":");
    private static final byte[] NULL = ascii("null");
    private static final byte[] TOP_K = ascii(",\"top_k\":[");
    private static final byte[] TOKEN = ascii("{\"token\":");
    private static final byte[] TEXT = ascii(",\"text\":\"");
    private static final byte[] P_AFTER_TEXT = ascii("\",\"p\":");
    private static final byte[] P = ascii(",\"p\":");
    private static final byte[] LABEL = ascii(",\"label\":\"");
    private static final byte[] PROBS = ascii("\",\"probs\":{");
    private static final byte[] EMBEDDING = ascii(",\"embedding\":[");

    private byte[] buf = new byte[512];
    private int at;

    /** {@code r}'s document, or null when it is not an event of plain texts and finite scores. */
    byte[] write(StreamResult r) {
        if (r.kind != StreamResult.Kind.EVENT || !plain(r)) {
            return null;
        }
        at = 0;
        put(STREAM);
        text(r.stream);
        if (r.id != null) {
            put(ID);
            text(r.id);
        }
        put(TOKENS);
        number(r.tokens);
        put(TOKENS_CONSUMED);
        number(r.tokensConsumed);
        put(NLL);
        if (Float.isNaN(r.nll)) {
            put(NULL);
        } else {
            number(r.nll);
        }
        if (r.topTokens != null) {
            put(TOP_K);
            for (int i = 0; i < r.topTokens.length; i++) {
                if (i > 0) {
                    put((byte) ',');
                }
                put(TOKEN);
                number(r.topTokens[i]);
                if (r.topText != null) {
                    put(TEXT);
                    text(r.topText[i]);
                    put(P_AFTER_TEXT);
                } else {
                    put(P);
                }
                number(r.topP[i]);
                put((byte) '}');
            }
            put((byte) ']');
        }
        if (r.classProbs != null) {
            float[] p = r.classProbs;
            put(LABEL);
            text(r.classLabels[ResultJson.best(p)]);
            put(PROBS);
            for (int c = 0; c < p.length; c++) {
                if (c > 0) {
                    put((byte) ',');
                }
                put((byte) '"');
                text(r.classLabels[c]);
                put((byte) '"');
                put((byte) ':');
                number(p[c]);
            }
            put((byte) '}');
        }
        if (r.embedding != null) {
            put(EMBEDDING);
            for (int i = 0; i < r.embedding.length; i++) {
                if (i > 0) {
                    put((byte) ',');
                }
                number(r.embedding[i]);
            }
            put((byte) ']');
        }
        put((byte) '}');
        return Arrays.copyOf(buf, at);
    }

    /** Every text printable ASCII without quote or backslash, every score finite, the arrays' lengths as written. */
    private static boolean plain(StreamResult r) {
        if (!plain(r.stream) || (r.id != null && !plain(r.id)) || Float.isInfinite(r.nll)) {
            return false;
        }
        if (r.topTokens != null) {
            if (r.topP == null || r.topP.length != r.topTokens.length || !finite(r.topP)
                    || (r.topText != null && (r.topText.length != r.topTokens.length || !plain(r.topText)))) {
                return false;
            }
        }
        if (r.classProbs != null) {
            if (r.classProbs.length == 0 || r.classLabels == null || r.classLabels.length != r.classProbs.length
                    || !finite(r.classProbs) || !plain(r.classLabels)) {
                return false;
            }
        }
        return r.embedding == null || finite(r.embedding);
    }

    private static boolean plain(String[] texts) {
        for (String s : texts) {
            if (!plain(s)) {
                return false;
            }
        }
        return true;
    }

    private static boolean plain(String s) {
        if (s == null) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                return false;
            }
        }
        return true;
    }

    private static boolean finite(float[] a) {
        return dev.gdn.kernels.cpu.VectorMath.best().allFinite(a);
    }

    private void room(int n) {
        if (at + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, at + n));
        }
    }

    private void put(byte b) {
        room(1);
        buf[at++] = b;
    }

    private void put(byte[] b) {
        room(b.length);
        System.arraycopy(b, 0, buf, at, b.length);
        at += b.length;
    }

    /** A plain text: its chars are its bytes. */
    private void text(String s) {
        int n = s.length();
        room(n);
        for (int i = 0; i < n; i++) {
            buf[at + i] = (byte) s.charAt(i);
        }
        at += n;
    }

    private void number(long v) {
        if (v == Long.MIN_VALUE) {
            put(ascii(Long.toString(v)));
            return;
        }
        room(20);
        if (v < 0) {
            buf[at++] = '-';
            v = -v;
        }
        int digits = 1;
        for (long t = v; t >= 10; t /= 10) {
            digits++;
        }
        for (int i = at + digits - 1; i >= at; i--) {
            buf[i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        at += digits;
    }

    /** The shortest decimal that reads back as {@code v}, as Jackson writes a float. */
    private void number(float v) {
        text(FloatToDecimal.toString(v));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
