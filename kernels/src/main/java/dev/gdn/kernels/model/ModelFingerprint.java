package dev.gdn.kernels.model;

import dev.gdn.kernels.config.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * SHA-256 of a model's math: its config (every field that changes the forward pass, in a canonical
 * text form) and its weights as fp32 (so a checkpoint re-saved in bf16 with the same values keeps its
 * fingerprint). Computed once when a model loads; every stream memory carries the fingerprint of the
 * model that computed it.
 *
 * <p>A classification head ({@code score.weight}, {@code score.bias}, {@code id2label}) does not count:
 * it reads the final hidden state and never changes a memory, so a model with a head fitted or refitted
 * on it ({@code gdn head fit}) keeps its fingerprint and a running job can take the new head with its
 * memories. (It hashes as a model without a head always did.)
 */
public final class ModelFingerprint {
    /** Bytes of a fingerprint. */
    public static final int BYTES = 32;

    private final byte[] bytes;

    private ModelFingerprint(byte[] bytes) {
        this.bytes = bytes;
    }

    /**
     * Wraps raw fingerprint bytes.
     *
     * @throws IllegalArgumentException when not {@value #BYTES} bytes
     */
    public static ModelFingerprint of(byte[] bytes) {
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("a fingerprint is " + BYTES + " bytes, got " + bytes.length);
        }
        return new ModelFingerprint(bytes.clone());
    }

    /** Parses the 64 hex digits that {@link #hex()} prints. */
    public static ModelFingerprint parse(String hex) {
        return of(HexFormat.of().parseHex(hex));
    }

    /** The fingerprint of a config and its weights. */
    public static ModelFingerprint compute(ModelConfig c, ModelWeights w) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
        md.update(canonical(c).getBytes(StandardCharsets.UTF_8));
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] t : w.tensors()) {
            update(md, buf, t);
        }
        // where a classification head once counted: every model now hashes as a model without one
        update(md, buf, null);
        return new ModelFingerprint(md.digest());
    }

    private static String canonical(ModelConfig c) {
        StringBuilder sb = new StringBuilder("gated_deltanet");
        sb.append(";vocab=").append(c.vocabSize()).append(";hidden=").append(c.hiddenSize())
                .append(";heads=").append(c.numHeads()).append(";vheads=").append(c.numValueHeads())
                .append(";k=").append(c.headDim()).append(";v=").append(c.headValueDim())
                .append(";layers=").append(c.numLayers()).append(";conv=").append(c.convSize())
                .append(";short_conv=").append(c.useShortConv()).append(";gate=").append(c.useGate())
                .append(";neg_eig=").append(c.allowNegEigval()).append(";eps=").append(Float.floatToIntBits(c.normEps()))
                .append(";mlp=").append(c.intermediateSize()).append(";tied=").append(c.tieWordEmbeddings())
                .append(";labels=[]");
        // each kind's own config block, in the registry's order (absent blocks add nothing, so the
        // fingerprints of models without them stay what they were)
        for (dev.gdn.kernels.layers.LayerKind k : dev.gdn.kernels.layers.LayerKinds.all()) {
            k.appendConfig(c, sb);
        }
        return sb.toString();
    }

    private static void update(MessageDigest md, ByteBuffer buf, float[] t) {
        if (t == null) {
            md.update((byte) 0);
            return;
        }
        md.update((byte) 1);
        int i = 0;
        while (i < t.length) {
            buf.clear();
            int n = Math.min(t.length - i, buf.capacity() / 4);
            buf.asFloatBuffer().put(t, i, n);
            md.update(buf.array(), 0, n * 4);
            i += n;
        }
    }

    /** A copy of the raw bytes. */
    public byte[] bytes() {
        return bytes.clone();
    }

    /** All 64 hex digits. */
    public String hex() {
        return HexFormat.of().formatHex(bytes);
    }

    /** The first 16 hex digits, for logs and tables. */
    public String shortHex() {
        return hex().substring(0, 16);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelFingerprint f && Arrays.equals(bytes, f.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return shortHex();
    }
}
