package dev.gdn.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.kernels.model.ModelFingerprint;
import java.util.Arrays;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The token log of a young stream: round trip, and every way stored bytes can be wrong named in the error. */
class TokenLogFormatTest {
    static final ModelFingerprint MODEL = fingerprint(1);
    static final ModelFingerprint OTHER = fingerprint(2);
    static final int VOCAB = 384;

    static ModelFingerprint fingerprint(int seed) {
        byte[] b = new byte[ModelFingerprint.BYTES];
        Arrays.fill(b, (byte) seed);
        return ModelFingerprint.of(b);
    }

    static int[] tokens(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = (i * 37 + 5) % VOCAB;
        }
        return t;
    }

    @Test
    void tokensComeBackAsWrittenForTheirStreamAndModel() {
        for (int n : new int[] {0, 1, 3, TokenLogFormat.MAX_TOKENS}) {
            byte[] b = TokenLogFormat.encode(MODEL, "sensor-7", 1000L + n, tokens(n));
            assertThat(b).hasSize(4 + 2 + 32 + 8 + 8 + 2 + 4 * n + 4);
            TokenLogFormat.Log log = TokenLogFormat.decode(b, "sensor-7", MODEL, ModelChangePolicy.FAIL, VOCAB);
            assertThat(log.tokens()).containsExactly(tokens(n));
            assertThat(log.baseTokens()).isEqualTo(1000L + n);
        }
    }

    @Test
    void moreThanTheChunkLengthLessOneIsRefusedWhenWritten() {
        assertThatThrownBy(() -> TokenLogFormat.encode(MODEL, "s", 0, tokens(64)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 63 tokens, got 64");
    }

    @Test
    void aLogUnderAnotherStreamsKeyIsRefused() {
        byte[] b = TokenLogFormat.encode(MODEL, "a", 0, tokens(3));
        assertThatThrownBy(() -> TokenLogFormat.decode(b, "b", MODEL, ModelChangePolicy.FAIL, VOCAB))
                .isInstanceOf(MemoryFormatException.class).hasMessageContaining("stored under stream 'b' belongs to another stream");
    }

    @Test
    void anotherModelsLogIsRefusedNamingBothOrDroppedUnderReset() {
        byte[] b = TokenLogFormat.encode(OTHER, "a", 0, tokens(3));
        assertThatThrownBy(() -> TokenLogFormat.decode(b, "a", MODEL, ModelChangePolicy.FAIL, VOCAB))
                .isInstanceOf(MemoryFormatException.class).hasMessageContaining(OTHER.hex()).hasMessageContaining(MODEL.hex());
        long before = MemoryResets.count();
        assertThat(TokenLogFormat.decode(b, "a", MODEL, ModelChangePolicy.RESET, VOCAB)).isNull();
        assertThat(MemoryResets.count()).isEqualTo(before + 1);
    }

    @Test
    void aTokenOutsideTheVocabularyIsRefused() {
        byte[] b = TokenLogFormat.encode(MODEL, "a", 0, new int[] {4, 400});
        assertThatThrownBy(() -> TokenLogFormat.decode(b, "a", MODEL, ModelChangePolicy.FAIL, VOCAB))
                .isInstanceOf(MemoryFormatException.class).hasMessageContaining("holds token 400, expected 0..383");
    }

    @Test
    void aNewerVersionAndAForeignMagicAreNamed() {
        byte[] b = TokenLogFormat.encode(MODEL, "a", 0, tokens(2));
        b[5] = 2;
        assertThatThrownBy(() -> TokenLogFormat.decode(b, "a", MODEL, ModelChangePolicy.FAIL, VOCAB))
                .hasMessageContaining("version 2 is not supported, expected 1 (written by a newer release)");
        b[0] = 0;
        assertThatThrownBy(() -> TokenLogFormat.decode(b, "a", MODEL, ModelChangePolicy.FAIL, VOCAB))
                .hasMessageContaining("not a token log");
    }

    /** Any flipped bit or cut makes the read fail with a format error: never a wrong log, never another exception. */
    @Property(tries = 300)
    void everyAlteredByteOrCutIsAFormatError(@ForAll @IntRange(min = 0, max = 63) int n,
            @ForAll @IntRange(min = 0, max = 10_000) int where, @ForAll @IntRange(min = 0, max = 7) int bit,
            @ForAll boolean cut) {
        byte[] b = TokenLogFormat.encode(MODEL, "stream", 0, tokens(n));
        int at = where % b.length;
        byte[] altered = cut ? Arrays.copyOf(b, at) : b.clone();
        if (!cut) {
            altered[at] ^= (byte) (1 << bit);
        }
        assertThatThrownBy(() -> TokenLogFormat.decode(altered, "stream", MODEL, ModelChangePolicy.FAIL, VOCAB))
                .isInstanceOf(MemoryFormatException.class);
    }
}
