package dev.gdn.operator.wire;

import java.io.IOException;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/** Nullable strings and arrays on Flink's data views: a length of -1 for null, then the elements. */
final class Wire {
    private Wire() {
    }

    static void string(String s, DataOutputView out) throws IOException {
        StringValue.writeString(s, out);
    }

    static String string(DataInputView in) throws IOException {
        return StringValue.readString(in);
    }

    static void ints(int[] a, DataOutputView out) throws IOException {
        out.writeInt(a == null ? -1 : a.length);
        if (a != null) {
            for (int v : a) {
                out.writeInt(v);
            }
        }
    }

    static int[] ints(DataInputView in) throws IOException {
        int n = length(in, "ints");
        if (n < 0) {
            return null;
        }
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = in.readInt();
        }
        return a;
    }

    static void floats(float[] a, DataOutputView out) throws IOException {
        out.writeInt(a == null ? -1 : a.length);
        if (a != null) {
            for (float v : a) {
                out.writeFloat(v);
            }
        }
    }

    static float[] floats(DataInputView in) throws IOException {
        int n = length(in, "floats");
        if (n < 0) {
            return null;
        }
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = in.readFloat();
        }
        return a;
    }

    static void strings(String[] a, DataOutputView out) throws IOException {
        out.writeInt(a == null ? -1 : a.length);
        if (a != null) {
            for (String s : a) {
                string(s, out);
            }
        }
    }

    static String[] strings(DataInputView in) throws IOException {
        int n = length(in, "strings");
        if (n < 0) {
            return null;
        }
        String[] a = new String[n];
        for (int i = 0; i < n; i++) {
            a[i] = string(in);
        }
        return a;
    }

    private static int length(DataInputView in, String what) throws IOException {
        int n = in.readInt();
        if (n < -1) {
            throw new IOException("an array of " + what + " of length " + n + " (expected -1 for null, or >= 0)");
        }
        return n;
    }
}
