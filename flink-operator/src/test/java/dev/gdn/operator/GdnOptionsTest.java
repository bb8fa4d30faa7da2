package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every gdn.* value is checked before anything starts, and the error names the key and the value. */
class GdnOptionsTest {
    private static Configuration of(String key, String value) {
        return Configuration.fromMap(Map.of(key, value));
    }

    @Test
    void theDefaultsAreValid() {
        GdnOptions.validate(new Configuration());
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        "gdn.batch.max-keys|abc|an integer",
        "gdn.batch.max-keys|4294967297|an integer",
        "gdn.cpu.threads|100000|expected 0 (one per core) to 1024",
        "gdn.state.idle-ttl|-5s|not a duration",
        "gdn.cache.capacity|-1|a size",
        "gdn.summary.temperature|-1|expected 0 (greedy) to 100",
        "gdn.summary.temperature|NaN|expected 0 (greedy) to 100",
        "gdn.summary.top-p|0|expected a value in (0, 1]",
        "gdn.summary.top-k|-3|must be >= 0",
        "gdn.summary.interval|9223372036854775807 ms|expected 0 (off) or a duration from 1 ms",
        "gdn.summary.interval|1ns|expected 0 (off) or a duration from 1 ms",
        "gdn.summary.interval|400d|expected 0 (off) or a duration from 1 ms",
        "gdn.summary.max-tokens|1000000000|the most tokens any generation may take",
        "gdn.state.max-heap-fraction|0.7|expected a share in (0, 0.5]",
        "gdn.state.max-heap-fraction|0.9|expected a share in (0, 0.5]",
        "gdn.checkpoint.interval|2|expected at least 10 ms",
        "gdn.output.emit-embedding|yes|true or false",
        "gdn.state.log-tokens|64|expected 0..63 (one less than the 64-token chunk length)",
        "gdn.state.log-tokens|-1|expected 0..63",
    })
    void anInvalidValueIsRefusedNamingItsKey(String key, String value, String why) {
        assertThatThrownBy(() -> GdnOptions.validate(of(key, value)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(key)
                .hasMessageContaining(why)
                .hasNoCause();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "gdn.summary.every-token, gdn.summary.every-tokens",
        "gdn.batch.max-key, gdn.batch.max-keys",
    })
    void anUnknownKeyIsRefusedWithTheNearestKnownOne(String key, String nearest) {
        assertThatThrownBy(() -> GdnOptions.validate(of(key, "5")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown option " + key)
                .hasMessageContaining("did you mean " + nearest + "?");
    }

    @Test
    void tokenLogsDefaultTo63TokensOnTheGpuAnd16OnTheCpuUnlessSet() {
        java.nio.file.Path dir = java.nio.file.Path.of(".");
        assertThat(BundleSettings.of(new Configuration(), null, dir, true).logTokens()).isEqualTo(63);
        assertThat(BundleSettings.of(new Configuration(), null, dir, false).logTokens()).isEqualTo(16);
        Configuration set = of("gdn.state.log-tokens", "5");
        assertThat(BundleSettings.of(set, null, dir, true).logTokens()).isEqualTo(5);
        assertThat(BundleSettings.of(set, null, dir, false).logTokens()).isEqualTo(5);
    }

    @Test
    void aKeyLikeNoOptionIsRefusedToo() {
        assertThatThrownBy(() -> GdnOptions.validate(of("gdn.nonsense", "1")))
                .hasMessageStartingWith("unknown option gdn.nonsense (did you mean gdn.");
    }

    @Test
    void theCachesOldKeyIsStillKnown() {
        GdnOptions.validate(of("gdn.cuda.memory-pool", "64mb"));
    }

    @Test
    void keysOutsideGdnAreLeftToFlink() {
        GdnOptions.validate(of("execution.checkpointing.interval", "10s"));
    }

    @Test
    void summariesUpToTheGenerationBoundAreAccepted() {
        Configuration c = new Configuration();
        c.set(GdnOptions.GENERATE_MAX_TOKENS, 512);
        c.set(GdnOptions.SUMMARY_MAX_TOKENS, 512);
        GdnOptions.validate(c);
        assertThat(c.get(GdnOptions.SUMMARY_MAX_TOKENS)).isEqualTo(512);
    }

    @Test
    void bundlesWait20MsForExactlyOnceAnd2MsForAtLeastOnceUnlessSet() {
        Configuration c = new Configuration();
        assertThat(GdnOptions.batchMaxDelay(c)).isEqualTo(java.time.Duration.ofMillis(20));
        c.set(GdnOptions.DELIVERY, "at-least-once");
        assertThat(GdnOptions.batchMaxDelay(c)).isEqualTo(java.time.Duration.ofMillis(2));
        c.set(GdnOptions.BATCH_MAX_DELAY, java.time.Duration.ofMillis(7));
        assertThat(GdnOptions.batchMaxDelay(c)).isEqualTo(java.time.Duration.ofMillis(7));
        c.set(GdnOptions.DELIVERY, "exactly-once");
        assertThat(GdnOptions.batchMaxDelay(c)).isEqualTo(java.time.Duration.ofMillis(7));
    }
}
