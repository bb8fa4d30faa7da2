package dev.gdn.state;

/** Short quotes of untrusted text in error messages. */
final class Text {
    private Text() {
    }

    /** At most 80 characters of {@code s}, saying how long it was when cut. */
    static String quote(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "... (" + s.length() + " chars)";
    }
}
