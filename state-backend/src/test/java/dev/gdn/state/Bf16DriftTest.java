package dev.gdn.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.kernels.parity.RelativeError;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The drift bf16 storage causes: 10,000 tokens of gdn-tiny in events of 1-8 tokens, the memory
 * round-tripped through bf16 storage after every event (RocksDB writes state on every event, so this
 * is the worst case), against the same stream with fp32 storage. The bound asserted here is the one
 * documented in docs/STATE.md.
 */
@Timeout(300)
class Bf16DriftTest {

    @Test
    void driftOverTenThousandTokensStaysWithinTheDocumentedBound() throws IOException {
        GatedDeltaNetModel m = TestModels.model("gdn-tiny");
        StreamMemorySerializer bf16 = TestModels.serializer(m, StorageDType.BF16, ModelChangePolicy.FAIL);
        StreamMemory exact = m.newMemory();
        StreamMemory rounded = m.newMemory();
        Random r = new Random(42);
        int vocab = m.config().vocabSize();
        int tokens = 0;
        int events = 0;
        int agree = 0;
        double worst = 0;
        double sumLast = 0;
        int countLast = 0;
        while (tokens < 10_000) {
            int n = Math.min(1 + r.nextInt(8), 10_000 - tokens);
            int[] t = new int[n];
            for (int i = 0; i < n; i++) {
                t[i] = r.nextInt(vocab);
            }
            float[] a = m.forward(List.of(new StreamInput(exact, t))).logits();
            float[] b = m.forward(List.of(new StreamInput(rounded, t))).logits();
            DataOutputSerializer out = new DataOutputSerializer(1 << 18);
            bf16.serialize(rounded, out);
            rounded = bf16.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
            double e = RelativeError.of(b, a).value();
            worst = Math.max(worst, e);
            if (tokens >= 9_000) {
                sumLast += e;
                countLast++;
            }
            if (argmax(a, (n - 1) * vocab, vocab) == argmax(b, (n - 1) * vocab, vocab)) {
                agree++;
            }
            tokens += n;
            events++;
        }
        double agreement = agree / (double) events;
        System.out.printf("bf16 storage drift, gdn-tiny, %d tokens in %d events: max logits rel err %.3e, "
                + "mean over the last 1000 tokens %.3e, top-1 agreement %.4f%n", tokens, events, worst,
                sumLast / countLast, agreement);
        // documented bound: logits within 6e-2 relative at any point, no growth (the last 1000 tokens
        // average below 3e-2), and the top-1 token agrees on at least 95% of events
        assertThat(worst).isLessThan(6e-2);
        assertThat(sumLast / countLast).isLessThan(3e-2);
        assertThat(agreement).isGreaterThan(0.95);
    }

    static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[off + i] > x[off + best]) {
                best = i;
            }
        }
        return best;
    }
}
