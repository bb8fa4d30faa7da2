package dev.gdn.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ResidentStreams;
import dev.gdn.kernels.model.StreamMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The bundle core over an engine that advances apart from the caller's thread (as the GPU's does): a
 * bundle's last pass is still running when {@link BundleCore#run} returns, and its results come out at
 * the next run, or by {@link BundleCore#finishPending}. Checked against the same core over the same CPU
 * kernels run synchronously: the same results, in the same order, with evictions, resets, token logs and
 * generations in the mix.
 */
class PipelinedBundleCoreTest {
    static final GatedDeltaNetModel FAST = BundleCoreTest.FAST;
    private static final ExecutorService ENGINE = Executors.newSingleThreadExecutor();

    @AfterAll
    static void stop() {
        ENGINE.shutdownNow();
    }

    /** The CPU slots, advanced on another thread after a pause (the pass "still on the GPU"). */
    static final class ApartSlots implements ResidentStreams {
        final ResidentStreams inner;
        int launched;

        ApartSlots(ResidentStreams inner) {
            this.inner = inner;
        }

        @Override
        public CompletableFuture<Scored> advanceScoredAsync(int[] slots, int[] offsets, int[] tokens, ScoreRows score,
                boolean hostHidden) {
            launched++;
            return CompletableFuture.supplyAsync(() -> {
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return inner.advanceScored(slots, offsets, tokens, score, hostHidden);
            }, ENGINE);
        }

        @Override
        public boolean advancesAsync() {
            return true;
        }

        @Override
        public Scored advanceScored(int[] slots, int[] offsets, int[] tokens, ScoreRows score, boolean hostHidden) {
            return inner.advanceScored(slots, offsets, tokens, score, hostHidden);
        }

        @Override
        public int capacity() {
            return inner.capacity();
        }

        @Override
        public long bytesPerSlot() {
            return inner.bytesPerSlot();
        }

        @Override
        public void load(int slot, StreamMemory m) {
            inner.load(slot, m);
        }

        @Override
        public StreamMemory store(int slot) {
            return inner.store(slot);
        }

        @Override
        public boolean hasLastHidden(int slot) {
            return inner.hasLastHidden(slot);
        }

        @Override
        public void forkInto(int[] from, ResidentStreams target) {
            inner.forkInto(from, target);
        }

        @Override
        public void reset(int slot) {
            inner.reset(slot);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    /** {@code summaryEvery}: a summary each time a stream passes a multiple of that many tokens (0: none). */
    private static BundleCore core(ResidentStreams slots, int logTokens, int summaryEvery) {
        GenerateSpec summary = summaryEvery == 0 ? null : new GenerateSpec(new int[] {2}, 2, 0, 0, 1, 0, new int[0][]);
        return new BundleCore(FAST, slots, new EventScorer(FAST, 3, false), null,
                new BundleCore.Settings(summaryEvery, 0, summary, 0, true, 8, logTokens), new MapStore());
    }

    private static BundleCore core(ResidentStreams slots, int logTokens) {
        return core(slots, logTokens, 0);
    }

    private static List<StreamEvent> workload(long seed) {
        Random rnd = new Random(seed);
        List<StreamEvent> events = new ArrayList<>();
        for (int i = 0; i < 90; i++) {
            String stream = "s" + rnd.nextInt(9);
            int kind = rnd.nextInt(15);
            if (kind == 0) {
                events.add(new StreamEvent(stream, "r" + i, new int[0], true));
            } else if (kind == 1) {
                events.add(StreamEvent.generate(stream, "g" + i,
                        new GenerateSpec(new int[] {1 + rnd.nextInt(20)}, 3, 0, 0, 1, 0, new int[0][])));
            } else {
                int[] tokens = new int[1 + rnd.nextInt(4)];
                for (int t = 0; t < tokens.length; t++) {
                    tokens[t] = rnd.nextInt(FAST.config().vocabSize());
                }
                events.add(new StreamEvent(stream, "e" + i, tokens, false));
            }
        }
        return events;
    }

    /** Every result as its JSON, in the order the core emitted them, bundles of {@code size} events. */
    private static List<String> runAll(BundleCore core, List<StreamEvent> events, int size) throws Exception {
        List<String> out = new ArrayList<>();
        for (int from = 0; from < events.size(); from += size) {
            core.run(BundleCoreTest.bundle(events.subList(from, Math.min(events.size(), from + size))), from,
                    r -> out.add(r.json()));
        }
        core.finishPending(r -> out.add(r.json()));
        return out;
    }

    @Test
    void aPassRunningApartGivesTheSameResultsInTheSameOrderAsOneWaitedFor() throws Exception {
        List<StreamEvent> events = workload(5);
        for (int[] c : new int[][] {{0, 0}, {12, 0}, {0, 7}}) {
            int logTokens = c[0];
            int summaryEvery = c[1];
            List<String> waited;
            try (BundleCore core = core(FAST.residentStreams(3), logTokens, summaryEvery)) {
                assertThat(core.pipelined()).isFalse();
                waited = runAll(core, events, 7);
            }
            ApartSlots apart = new ApartSlots(FAST.residentStreams(3));
            try (BundleCore core = core(apart, logTokens, summaryEvery)) {
                assertThat(core.pipelined()).isTrue();
                List<String> pipelined = runAll(core, events, 7);
                assertThat(pipelined).as("log tokens " + logTokens + ", summaries " + summaryEvery).isEqualTo(waited);
                assertThat(apart.launched).as("passes launched apart").isPositive();
                assertThat(core.evictions()).isPositive();
                assertThat(core.generations()).isPositive();
                assertThat(core.resets()).isPositive();
            }
            assertThat(waited.size()).isGreaterThanOrEqualTo(events.size());
            assertThat(waited.stream().anyMatch(j -> j.contains("summary@"))).isEqualTo(summaryEvery > 0);
        }
    }

    @Test
    void aBundlesResultsWaitForItsPassAndComeOutBeforeTheNextBundles() throws Exception {
        try (BundleCore core = core(new ApartSlots(FAST.residentStreams(4)), 0)) {
            List<String> out = new ArrayList<>();
            core.run(BundleCoreTest.bundle(List.of(new StreamEvent("a", "1", new int[] {3, 4}, false),
                    new StreamEvent("b", "2", new int[] {5}, false))), 0, r -> out.add(r.stream + "/" + r.id));
            assertThat(out).as("the pass is still running").isEmpty();
            assertThat(core.pendingPass()).isPositive();
            assertThatThrownBy(() -> core.writeBackDirty(false)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("finishPending");
            core.run(BundleCoreTest.bundle(List.of(new StreamEvent("a", "3", new int[] {6}, false))), 1,
                    r -> out.add(r.stream + "/" + r.id));
            assertThat(out).containsExactly("a/1", "b/2");
            long pass = core.pendingPass();
            core.finishPending(pass + 1, r -> out.add(r.stream + "/" + r.id));
            assertThat(out).as("another pass's turn finishes nothing").hasSize(2);
            core.finishPending(pass, r -> out.add(r.stream + "/" + r.id));
            assertThat(out).containsExactly("a/1", "b/2", "a/3");
            assertThat(core.pendingPass()).isZero();
            core.writeBackDirty(false);
        }
    }
}
