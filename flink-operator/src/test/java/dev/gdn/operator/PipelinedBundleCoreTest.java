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

    /**
     * The CPU slots, advanced on another thread after a pause (the pass "still on the GPU"), in launch
     * order; as the GPU's slots do, they say at once which slots have a last hidden state. With
     * {@code poison >= 0}, a stream whose tokens in a pass hold that token id comes out of it with a
     * memory of NaN (and so its scores): a memory turned non-finite, as an overflowing model makes one.
     */
    static final class ApartSlots implements ResidentStreams {
        final ResidentStreams inner;
        final boolean apart;
        final int poison;
        final boolean[] hasLast;
        int launched;
        /** The most passes launched and not yet run at one time. */
        final java.util.concurrent.atomic.AtomicInteger queued = new java.util.concurrent.atomic.AtomicInteger();
        int mostQueued;

        ApartSlots(ResidentStreams inner) {
            this(inner, true, -1);
        }

        ApartSlots(ResidentStreams inner, boolean apart, int poison) {
            this.inner = inner;
            this.apart = apart;
            this.poison = poison;
            this.hasLast = new boolean[inner.capacity()];
        }

        @Override
        public CompletableFuture<Scored> advanceScoredAsync(int[] slots, int[] offsets, int[] tokens, ScoreRows score,
                boolean hostHidden) {
            if (!apart) {
                return ResidentStreams.super.advanceScoredAsync(slots, offsets, tokens, score, hostHidden);
            }
            launched++;
            mostQueued = Math.max(mostQueued, queued.incrementAndGet());
            mark(slots, offsets);
            return CompletableFuture.supplyAsync(() -> {
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                queued.decrementAndGet();
                return run(slots, offsets, tokens, score, hostHidden);
            }, ENGINE);
        }

        @Override
        public boolean advancesAsync() {
            return apart;
        }

        @Override
        public Scored advanceScored(int[] slots, int[] offsets, int[] tokens, ScoreRows score, boolean hostHidden) {
            mark(slots, offsets);
            return run(slots, offsets, tokens, score, hostHidden);
        }

        private void mark(int[] slots, int[] offsets) {
            for (int n = 0; n < slots.length; n++) {
                hasLast[slots[n]] |= offsets[n + 1] > offsets[n];
            }
        }

        private Scored run(int[] slots, int[] offsets, int[] tokens, ScoreRows score, boolean hostHidden) {
            Scored out = inner.advanceScored(slots, offsets, tokens, score, hostHidden);
            for (int n = 0; n < slots.length && poison >= 0; n++) {
                boolean hit = false;
                for (int t = offsets[n]; t < offsets[n + 1]; t++) {
                    hit |= tokens[t] == poison;
                }
                if (!hit) {
                    continue;
                }
                StreamMemory m = inner.store(slots[n]);
                for (int l = 0; l < m.layerCount(); l++) {
                    if (m.layer(l) instanceof dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory d) {
                        java.util.Arrays.fill(d.state(), Float.NaN);
                    }
                }
                inner.load(slots[n], m);
                for (int r = 0; r < score.rows(); r++) {
                    int src = score.sources()[r];
                    if (src == -(n + 1) || src >= offsets[n] && src < offsets[n + 1]) {
                        out.scores().lse()[r] = Double.NaN;
                    }
                }
            }
            return out;
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
            hasLast[slot] = m.lastHidden() != null;
        }

        @Override
        public StreamMemory store(int slot) {
            return inner.store(slot);
        }

        @Override
        public boolean hasLastHidden(int slot) {
            return hasLast[slot];
        }

        @Override
        public void forkInto(int[] from, ResidentStreams target) {
            inner.forkInto(from, target);
        }

        @Override
        public void reset(int slot) {
            inner.reset(slot);
            hasLast[slot] = false;
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
            long first = core.pendingPass();
            // a resident stream's tokens: launched behind the first pass, which is still not finished
            core.run(BundleCoreTest.bundle(List.of(new StreamEvent("a", "3", new int[] {6}, false))), 1,
                    r -> out.add(r.stream + "/" + r.id));
            assertThat(out).isEmpty();
            assertThat(core.passesInFlight()).isEqualTo(2);
            core.finishPending(first, r -> out.add(r.stream + "/" + r.id));
            assertThat(out).containsExactly("a/1", "b/2");
            // a new stream: the passes before it finish first
            core.run(BundleCoreTest.bundle(List.of(new StreamEvent("c", "4", new int[] {7}, false))), 2,
                    r -> out.add(r.stream + "/" + r.id));
            assertThat(out).containsExactly("a/1", "b/2", "a/3");
            long pass = core.pendingPass();
            core.finishPending(first, r -> out.add(r.stream + "/" + r.id));
            assertThat(out).as("an earlier pass's turn, finished already, finishes nothing").hasSize(3);
            core.finishPending(pass, r -> out.add(r.stream + "/" + r.id));
            assertThat(out).containsExactly("a/1", "b/2", "a/3", "c/4");
            assertThat(core.pendingPass()).isZero();
            core.writeBackDirty(false);
        }
    }

    /** Events of {@code streams} streams, round robin, {@code tokens} tokens each, no control events. */
    private static List<StreamEvent> tokensOnly(int streams, int events, int tokens, long seed, int avoid) {
        Random rnd = new Random(seed);
        List<StreamEvent> out = new ArrayList<>();
        for (int i = 0; i < events; i++) {
            int[] t = new int[tokens];
            for (int j = 0; j < tokens; j++) {
                do {
                    t[j] = rnd.nextInt(FAST.config().vocabSize());
                } while (t[j] == avoid);
            }
            out.add(new StreamEvent("s" + i % streams, "e" + i, t, false));
        }
        return out;
    }

    @Test
    void aBundleOfResidentStreamsLaunchesBehindThePassInFlightAndGivesTheResultsOfPassesOneAfterTheOther()
            throws Exception {
        // 6 streams in 8 slots: after the first bundles every stream is resident, and each bundle's pass
        // is launched while the one before is still running
        List<StreamEvent> events = tokensOnly(6, 120, 2, 11, -1);
        List<String> waited;
        try (BundleCore core = core(FAST.residentStreams(8), 0)) {
            waited = runAll(core, events, 6);
        }
        ApartSlots apart = new ApartSlots(FAST.residentStreams(8));
        try (BundleCore core = core(apart, 0)) {
            List<String> out = new ArrayList<>();
            core.run(BundleCoreTest.bundle(events.subList(0, 6)), 0, r -> out.add(r.json()));
            assertThat(core.passesInFlight()).isEqualTo(1);
            core.run(BundleCoreTest.bundle(events.subList(6, 12)), 1, r -> out.add(r.json()));
            assertThat(core.passesInFlight()).as("the second pass queued behind the first").isEqualTo(2);
            for (int from = 12; from < events.size(); from += 6) {
                core.run(BundleCoreTest.bundle(events.subList(from, from + 6)), from, r -> out.add(r.json()));
                assertThat(core.passesInFlight()).isBetween(1, 2);
            }
            core.finishPending(r -> out.add(r.json()));
            assertThat(out).isEqualTo(waited);
            assertThat(apart.mostQueued).as("passes launched while another was waiting to run").isEqualTo(2);
        }
        // a stream that is not resident makes the next bundle wait for the passes in flight
        try (BundleCore core = core(new ApartSlots(FAST.residentStreams(8)), 0)) {
            core.run(BundleCoreTest.bundle(events.subList(0, 6)), 0, r -> { });
            core.run(BundleCoreTest.bundle(List.of(new StreamEvent("new", "n", new int[] {4}, false))), 1, r -> { });
            assertThat(core.passesInFlight()).isEqualTo(1);
            // and so does a control event
            core.run(BundleCoreTest.bundle(List.of(new StreamEvent("s1", "r", new int[0], true))), 2, r -> { });
            assertThat(core.passesInFlight()).isZero();
            core.finishPending(r -> { });
        }
    }

    @Test
    void aMemoryTurnedNonFiniteWhileTheNextPassRanOnItGivesTheResultsOfPassesOneAfterTheOther() throws Exception {
        int poison = 7;
        List<StreamEvent> events = tokensOnly(4, 80, 2, 13, poison);
        // the poisoned token in a few events: their streams' memories turn NaN in that pass; the same streams
        // have events in the next bundle, launched on those memories before the poisoned pass finished
        for (int i : new int[] {9, 30, 31, 57}) {
            StreamEvent e = events.get(i);
            events.set(i, new StreamEvent(e.stream, e.id, new int[] {e.tokens[0], poison}, false));
        }
        List<String> waited;
        try (BundleCore core = core(new ApartSlots(FAST.residentStreams(6), false, poison), 0)) {
            assertThat(core.pipelined()).isFalse();
            waited = runAll(core, events, 4);
        }
        assertThat(waited.stream().filter(j -> j.contains(BundleCore.NON_FINITE.substring(0, 40))).count())
                .as("only the poisoned events fail").isEqualTo(4);
        ApartSlots apart = new ApartSlots(FAST.residentStreams(6), true, poison);
        try (BundleCore core = core(apart, 0)) {
            assertThat(runAll(core, events, 4)).isEqualTo(waited);
            assertThat(core.nonFiniteMemories()).isEqualTo(4);
            assertThat(apart.mostQueued).isEqualTo(2);
        }
    }
}
