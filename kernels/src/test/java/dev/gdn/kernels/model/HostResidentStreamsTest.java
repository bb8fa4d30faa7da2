package dev.gdn.kernels.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.testing.Fixtures;
import org.junit.jupiter.api.Test;

/**
 * The CPU's resident slots hand out their memory objects on store and copy before they change them: a
 * stored memory never moves afterwards, and a slot advances after a store exactly as one never stored.
 */
class HostResidentStreamsTest {
    private static final int[] TOKENS = {3, 1, 4, 1, 5, 9, 2, 6};

    @Test
    void aStoredMemoryStaysAsItWasWhileItsSlotAdvancesAndResets() throws Exception {
        GatedDeltaNetModel model = GatedDeltaNetModel.load(Fixtures.model("gdn-tiny"), CpuKernels.fast(2, 64));
        try (ResidentStreams slots = model.residentStreams(2)) {
            slots.resetAll(new int[] {0, 1});
            slots.advance(new int[] {0, 1}, new int[] {0, 4, 8}, TOKENS);
            StreamMemory stored = slots.store(0);
            StreamMemory asStored = stored.copy();
            StreamMemory[] both = slots.storeAll(new int[] {0, 1});
            StreamMemory asStoredOne = both[1].copy();

            slots.advance(new int[] {0, 1}, new int[] {0, 3, 5}, new int[] {7, 7, 7, 8, 8});
            assertThat(stored).isEqualTo(asStored);
            assertThat(stored.tokensConsumed()).isEqualTo(4);
            assertThat(both[1]).isEqualTo(asStoredOne);
            assertThat(slots.store(0)).isNotEqualTo(asStored);
            assertThat(slots.store(0).tokensConsumed()).isEqualTo(7);

            slots.reset(0);
            assertThat(stored).isEqualTo(asStored);
            assertThat(slots.store(0).tokensConsumed()).isZero();
        }
    }

    @Test
    void aSlotAdvancesAfterAStoreExactlyAsOneNeverStored() throws Exception {
        GatedDeltaNetModel model = GatedDeltaNetModel.load(Fixtures.model("gdn-tiny"), CpuKernels.fast(2, 64));
        try (ResidentStreams stored = model.residentStreams(1); ResidentStreams kept = model.residentStreams(1)) {
            for (ResidentStreams s : new ResidentStreams[] {stored, kept}) {
                s.resetAll(new int[] {0});
                s.advance(new int[] {0}, new int[] {0, 5}, java.util.Arrays.copyOf(TOKENS, 5));
            }
            for (int round = 0; round < 3; round++) {
                stored.store(0);
                int[] more = {TOKENS[round], TOKENS[round + 1]};
                stored.advance(new int[] {0}, new int[] {0, 2}, more);
                kept.advance(new int[] {0}, new int[] {0, 2}, more);
                assertThat(stored.store(0)).isEqualTo(kept.store(0));
                assertThat(stored.store(0).lastHidden()).containsExactly(kept.store(0).lastHidden());
            }
        }
    }
}
