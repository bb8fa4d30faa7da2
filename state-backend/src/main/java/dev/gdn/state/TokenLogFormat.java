package dev.gdn.state;

import dev.gdn.kernels.model.ModelFingerprint;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The binary format of a stream's token log: the tokens a stream consumed since its stored memory was
 * written (or since its start or last reset, when it has none), kept instead of writing the memory again
 * (0.5 MiB for the recall model, more for larger ones) while they are few. The stream's memory is rebuilt
 * by running them through the model on top of the stored one (or an empty one) when it is next loaded.
 * Bound, as a memory is, to its model and its stream, and to the memory it continues (by its token count).
 *
 * <pre>
 * version 1
 *   int    magic 0x47444E4C ("GDNL")      big-endian, as every integer
 *   short  version = 1
 *   byte[32] model fingerprint (SHA-256)
 *   long   stream digest ({@link StreamBinding#digest})
 *   long   tokens consumed by the stored memory the log continues (0: none, an empty memory)
 *   short  token count n (0..{@value #MAX_TOKENS})
 *   int[n] token ids
 *   int    CRC32C of every byte after the version field
 * </pre>
 */
public final class TokenLogFormat {
    /** Name of the operator's keyed value state (of bytes) that holds the logs. */
    public static final String STATE_NAME = "young-stream-tokens";
    public static final int MAGIC = 0x47444E4C;
    public static final int VERSION = 1;
    /** A log: the tokens, and the token count of the stored memory they continue (0: from an empty memory). */
    public record Log(long baseTokens, int[] tokens) {
    }

    /**
     * Most tokens a log holds: one less than the 64-token chunk length, so that the rebuild runs its tokens
     * as one stretch on the same token-by-token path as they first ran (bitwise the same memory on the CPU).
     */
    public static final int MAX_TOKENS = 63;
    private static final int HEADER = 4 + 2 + ModelFingerprint.BYTES + 8 + 8 + 2;

    private TokenLogFormat() {
    }

    /**
     * The bytes of {@code tokens} as the log of stream {@code streamId} under model {@code fingerprint}.
     *
     * @throws IllegalArgumentException when there are more than {@value #MAX_TOKENS} tokens
     */
    public static byte[] encode(ModelFingerprint fingerprint, String streamId, long baseTokens, int[] tokens) {
        if (tokens.length > MAX_TOKENS) {
            throw new IllegalArgumentException("a token log holds at most " + MAX_TOKENS + " tokens, got "
                    + tokens.length);
        }
        ByteBuffer b = ByteBuffer.allocate(HEADER + 4 * tokens.length + 4);
        b.putInt(MAGIC).putShort((short) VERSION).put(fingerprint.bytes()).putLong(StreamBinding.digest(streamId))
                .putLong(baseTokens).putShort((short) tokens.length);
        for (int t : tokens) {
            b.putInt(t);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 6, b.position() - 6);
        b.putInt((int) crc.getValue());
        return b.array();
    }

    /**
     * Checks that {@code log} (null: none) continues {@code stored}, the memory stored beside it under
     * {@code streamId} (null: none, an empty memory of 0 tokens).
     *
     * @throws MemoryFormatException naming both token counts
     */
    public static void checkContinues(Log log, dev.gdn.kernels.model.StreamMemory stored, String streamId) {
        long base = stored == null ? 0 : stored.tokensConsumed();
        if (log != null && log.baseTokens() != base) {
            throw new MemoryFormatException("the token log of stream '" + Text.quote(streamId) + "' continues a memory of "
                    + log.baseTokens() + " tokens, but the memory stored for it has " + base
                    + (stored == null ? " (none)" : "") + ": the checkpoint or savepoint was altered");
        }
    }

    /**
     * The tokens of a log read from state under {@code streamId}, checked: format, checksum, binding to
     * the stream, token ids below {@code vocabSize}, and the model. Another model's log is refused naming
     * both fingerprints, or under {@link ModelChangePolicy#RESET} dropped (null: the stream starts afresh)
     * and counted as memories are.
     *
     * @throws MemoryFormatException saying what was found and what was expected
     */
    public static Log decode(byte[] bytes, String streamId, ModelFingerprint expected, ModelChangePolicy onChange,
            int vocabSize) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        try {
            int magic = b.getInt();
            if (magic != MAGIC) {
                throw new MemoryFormatException(String.format(
                        "not a token log: magic 0x%08X, expected 0x%08X (\"GDNL\")", magic, MAGIC));
            }
            int version = b.getShort() & 0xFFFF;
            if (version != VERSION) {
                throw new MemoryFormatException("token log format version " + version + " is not supported, expected "
                        + VERSION + (version > VERSION ? " (written by a newer release)" : ""));
            }
            byte[] fp = new byte[ModelFingerprint.BYTES];
            b.get(fp);
            long digest = b.getLong();
            long base = b.getLong();
            int n = b.getShort() & 0xFFFF;
            if (n > MAX_TOKENS) {
                throw new MemoryFormatException("token log of " + n + " tokens, expected at most " + MAX_TOKENS);
            }
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) {
                tokens[i] = b.getInt();
            }
            CRC32C crc = new CRC32C();
            crc.update(bytes, 6, b.position() - 6);
            int stored = b.getInt();
            if (stored != (int) crc.getValue()) {
                throw new MemoryFormatException(String.format("token log of stream '%s' fails its checksum: CRC32C "
                        + "%08x stored, %08x computed", Text.quote(streamId), stored, (int) crc.getValue()));
            }
            if (b.hasRemaining()) {
                throw new MemoryFormatException("token log of stream '" + Text.quote(streamId) + "' has "
                        + b.remaining() + " bytes after its checksum, expected none");
            }
            long own = StreamBinding.digest(streamId);
            if (digest != own) {
                throw new MemoryFormatException(String.format("the token log stored under stream '%s' belongs to "
                        + "another stream (stream digest %016x, expected %016x): the checkpoint or savepoint was "
                        + "altered", Text.quote(streamId), digest, own));
            }
            ModelFingerprint found = ModelFingerprint.of(fp);
            if (!found.equals(expected)) {
                if (onChange == ModelChangePolicy.RESET) {
                    MemoryResets.record(found, expected);
                    return null;
                }
                throw new MemoryFormatException("token log of stream '" + Text.quote(streamId) + "' was written "
                        + "for model " + found.hex() + ", this job's model is " + expected.hex()
                        + "; set the model-change policy to RESET to start such streams afresh");
            }
            for (int t : tokens) {
                if (t < 0 || t >= vocabSize) {
                    throw new MemoryFormatException("token log of stream '" + Text.quote(streamId) + "' holds token "
                            + t + ", expected 0.." + (vocabSize - 1));
                }
            }
            if (base < 0) {
                throw new MemoryFormatException("token log of stream '" + Text.quote(streamId) + "' continues a memory "
                        + "of " + base + " tokens, expected at least 0");
            }
            return new Log(base, tokens);
        } catch (BufferUnderflowException e) {
            throw new MemoryFormatException("token log of stream '" + Text.quote(streamId) + "' is truncated: "
                    + bytes.length + " bytes", e);
        }
    }
}
