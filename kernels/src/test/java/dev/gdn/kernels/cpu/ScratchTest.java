package dev.gdn.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** A thread's scratch buffers: reused call after call, per slot and per thread, never kept when huge. */
class ScratchTest {
    private static final Scratch.Slot A = Scratch.slot("test.a");
    private static final Scratch.Slot B = Scratch.slot("test.b");

    @Test
    void aSlotGivesTheSameArrayAgainWhileItIsLongEnough() {
        float[] first = Scratch.floats(A, 100);
        assertThat(first.length).isGreaterThanOrEqualTo(100);
        assertThat(Scratch.floats(A, 100)).isSameAs(first);
        assertThat(Scratch.floats(A, 10)).isSameAs(first);
        float[] grown = Scratch.floats(A, first.length + 1);
        assertThat(grown).isNotSameAs(first);
        assertThat(grown.length).isGreaterThan(first.length);
        assertThat(Scratch.floats(A, first.length)).isSameAs(grown);
    }

    @Test
    void slotsAndThreadsNeverShareAnArray() throws Exception {
        float[] a = Scratch.floats(A, 64);
        float[] b = Scratch.floats(B, 64);
        assertThat(b).isNotSameAs(a);
        var executor = Executors.newSingleThreadExecutor();
        try {
            float[] otherThread = CompletableFuture.supplyAsync(() -> Scratch.floats(A, 64), executor).get();
            assertThat(otherThread).isNotSameAs(a);
        } finally {
            executor.shutdown();
        }
    }

    @Test
    void aRequestAboveTheLimitGetsAFreshArrayEachTime() {
        int huge = Scratch.MAX_REUSED_FLOATS + 1;
        float[] one = Scratch.floats(B, huge);
        assertThat(one).hasSize(huge);
        assertThat(Scratch.floats(B, huge)).isNotSameAs(one);
    }

    @Test
    void aNegativeLengthNamesTheSlot() {
        assertThatThrownBy(() -> Scratch.floats(A, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("test.a").hasMessageContaining("-1");
    }
}
