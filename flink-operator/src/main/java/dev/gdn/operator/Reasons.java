package dev.gdn.operator;

/**
 * Reasons and echoed input kept short: a reason names what was found, never carries the input itself,
 * so that a hostile event of megabytes cannot make a dead letter (or a log line) of megabytes.
 */
public final class Reasons {
    /** Longest reason in characters; longer ones are cut with the original length noted. */
    public static final int MAX_REASON_CHARS = 500;
    /** Longest piece of input quoted inside a reason. */
    public static final int MAX_QUOTE_CHARS = 60;

    private Reasons() {
    }

    /** {@code reason} cut to {@link #MAX_REASON_CHARS} characters, saying how long it was. */
    public static String bound(String reason) {
        if (reason == null) {
            return "unknown reason";
        }
        String oneLine = reason.replace('\n', ' ').replace('\r', ' ');
        if (oneLine.length() <= MAX_REASON_CHARS) {
            return oneLine;
        }
        return cut(oneLine, MAX_REASON_CHARS - 40) + "... (reason of " + oneLine.length() + " chars cut)";
    }

    /** A piece of input to quote in a reason: at most {@link #MAX_QUOTE_CHARS} characters. */
    public static String quote(Object input) {
        String s = String.valueOf(input);
        if (s.length() <= MAX_QUOTE_CHARS) {
            return s;
        }
        return cut(s, MAX_QUOTE_CHARS) + "... (" + s.length() + " chars)";
    }

    /** The first {@code n} characters, never splitting a surrogate pair. */
    private static String cut(String s, int n) {
        int end = Character.isHighSurrogate(s.charAt(n - 1)) ? n - 1 : n;
        return s.substring(0, end);
    }
}
