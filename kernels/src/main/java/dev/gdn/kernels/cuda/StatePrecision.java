package dev.gdn.kernels.cuda;

import java.util.Locale;

/**
 * How the gated delta rule's states live in the GPU's memory pool. The kernels always compute in fp32;
 * bf16 halves the state traffic of every step (the decode step is bound by it) at the cost of rounding
 * the state to nearest even each time a kernel writes it back (once per stream and pass). Host memories
 * (keyed state) stay fp32 containers: a memory read back from the GPU holds the bf16 values.
 */
public enum StatePrecision {
    FP32("fp32"),
    BF16("bf16");

    private final String label;

    StatePrecision(String label) {
        this.label = label;
    }

    /**
     * @throws IllegalArgumentException naming the value when it is not fp32 or bf16
     */
    public static StatePrecision parse(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        for (StatePrecision p : values()) {
            if (p.label.equals(v)) {
                return p;
            }
        }
        throw new IllegalArgumentException("state precision '" + s + "' is not one of fp32, bf16");
    }

    public String label() {
        return label;
    }

    /** The compile options of the kernels that read and write states. */
    String[] options() {
        return this == BF16 ? new String[] {"-DSTATE_BF16"} : new String[0];
    }

    /** Bytes of one state element in the pool. */
    int bytes() {
        return this == BF16 ? 2 : 4;
    }
}
