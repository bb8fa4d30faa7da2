package dev.gdn.state;

import dev.gdn.kernels.model.StreamMemory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Binds a memory to the stream (the keyed-state key) it belongs to: the first 8 bytes of the SHA-256
 * of the stream id, stored inside the memory and covered by its checksum. A memory found under
 * another stream's key (a renamed key, state copied between keys) is then an error, not a silent
 * mix-up.
 */
public final class StreamBinding {
    private StreamBinding() {
    }

    /** The digest of a stream id. */
    public static long digest(String streamId) {
        byte[] h = SHA_256.get().digest(streamId.getBytes(StandardCharsets.UTF_8));
        return ByteBuffer.wrap(h).getLong();
    }

    /**
     * One digest per thread, reused ({@code digest()} leaves it reset): looking one up costs more than the
     * hash of a short key, and a cache miss takes two (the read's check and the write-back's binding).
     */
    private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    });

    /**
     * Checks that {@code m}, read from state under {@code streamId}, belongs to that stream. Memories of
     * format versions before 3 carry no binding and pass.
     *
     * @throws MemoryFormatException naming the stream and both digests
     */
    public static void check(StreamMemory m, String streamId) {
        if (!m.isBound()) {
            return;
        }
        long expected = digest(streamId);
        if (m.streamDigest() != expected) {
            throw new MemoryFormatException(String.format("the memory stored under stream '%s' belongs to another "
                    + "stream (stream digest %016x, expected %016x): the checkpoint or savepoint was altered",
                    Text.quote(streamId), m.streamDigest(), expected));
        }
    }
}
