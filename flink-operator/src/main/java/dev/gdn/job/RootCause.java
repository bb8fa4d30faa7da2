package dev.gdn.job;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The one line that says why something failed. Flink wraps a job's failure several times ("Job
 * execution failed.", "Recovery is suppressed by ...", completion and execution exceptions); the
 * cause worth showing is the innermost one that has a message.
 */
public final class RootCause {
    private RootCause() {
    }

    /**
     * The innermost throwable of {@code t}'s cause chain; when that one has no message, the nearest
     * one above it that has one and is not a mere wrapper (or the innermost after all).
     */
    public static Throwable of(Throwable t) {
        java.util.List<Throwable> chain = new java.util.ArrayList<>();
        for (Throwable c = t; c != null && chain.size() < 100 && !chain.contains(c); c = c.getCause()) {
            chain.add(c);
        }
        for (int i = chain.size() - 1; i >= 0; i--) {
            Throwable c = chain.get(i);
            if (hasMessage(c) && (i == chain.size() - 1 || !isWrapper(c))) {
                return c;
            }
        }
        return chain.get(chain.size() - 1);
    }

    /**
     * One line: the root cause's message, prefixed by its type unless the message speaks for itself
     * (the project's own errors and argument or state errors, which name what was found).
     */
    public static String line(Throwable t) {
        Throwable r = of(t);
        String type = typeName(r);
        String msg = hasMessage(r) ? r.getMessage().strip() : "";
        int nl = msg.indexOf('\n');
        if (nl >= 0) {
            msg = msg.substring(0, nl).strip();
        }
        boolean plain = type.equals(IllegalArgumentException.class.getName())
                || type.equals(IllegalStateException.class.getName()) || type.startsWith("dev.gdn.");
        String simple = type.substring(type.lastIndexOf('.') + 1);
        if (msg.isEmpty()) {
            return simple;
        }
        return plain ? msg : simple + ": " + msg;
    }

    /**
     * {@link #line} of a job's failure; when it failed while Flink read a snapshot's state files (a
     * truncated or altered file shows as a low-level decoding error deep inside the state backend), the
     * line says so and names the snapshot. The project's own state errors already say what they found.
     *
     * @param snapshot the snapshot the job restored from, or null for a fresh start
     */
    public static String jobFailure(Throwable t, Object snapshot) {
        String line = line(t);
        Throwable root = of(t);
        if (snapshot == null || typeName(root).startsWith("dev.gdn.")) {
            return line;
        }
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String msg = String.valueOf(c.getMessage());
            if (typeName(c).endsWith(".BackendBuildingException") || msg.contains("StreamOperatorStateContext")
                    || msg.contains("Failed to restore") || msg.contains("restore heap backend")) {
                return "the state files of snapshot " + snapshot + " could not be read (" + line + "): they were "
                        + "truncated or altered; restore an unaltered snapshot";
            }
        }
        return line;
    }

    /** The class name of {@code t}, or of the exception a {@code SerializedThrowable} stands for. */
    private static String typeName(Throwable t) {
        return t instanceof org.apache.flink.util.SerializedThrowable s ? s.getOriginalErrorClassName()
                : t.getClass().getName();
    }

    private static boolean hasMessage(Throwable c) {
        return c.getMessage() != null && !c.getMessage().isBlank();
    }

    private static boolean isWrapper(Throwable c) {
        if (c instanceof ExecutionException || c instanceof CompletionException) {
            return true;
        }
        String name = c.getClass().getName();
        return name.equals("org.apache.flink.runtime.client.JobExecutionException")
                || name.equals("org.apache.flink.runtime.JobException")
                || name.equals("org.apache.flink.util.FlinkRuntimeException")
                || name.equals("org.apache.flink.util.FlinkException");
    }
}
