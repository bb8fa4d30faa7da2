package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.cuda.CudaChunkedGatedDeltaRule.RecurLayout;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import org.junit.jupiter.api.Test;

/** How the tensor-core recurrence is laid out on an sm_90 multiprocessor (228 KiB of shared memory); no GPU. */
class RecurLayoutTest {
    private static final int SM90 = 228 * 1024;

    @Test
    void bf16HeadsOf128KeysKeepTheStateInSharedMemoryAtTwoBlocksAMultiprocessor() {
        RecurLayout l = RecurLayout.choose(128, ChunkPrecision.BF16, 32, SM90);
        assertThat(l.stateInRegisters()).isFalse();
        assertThat(l.ktBuffer()).isTrue();
        assertThat(l.minBlocks()).isEqualTo(2);
        assertThat(2 * (l.sharedBytes() + 1024)).isLessThanOrEqualTo(SM90);
        assertThat(l.options()).containsExactly("-DSTATE_REGS=0", "-DKT_BUFFER=1", "-DMIN_BLOCKS=2",
                "-DRECUR_WARPS=8");
    }

    @Test
    void bf16HeadsOf256KeysMoveTheStateToRegistersAndGiveUpKtsBufferToKeepTwoBlocks() {
        RecurLayout l = RecurLayout.choose(256, ChunkPrecision.BF16, 32, SM90);
        assertThat(l.stateInRegisters()).isTrue();
        assertThat(l.ktBuffer()).isFalse();
        assertThat(l.minBlocks()).isEqualTo(2);
        assertThat(2 * (l.sharedBytes() + 1024)).isLessThanOrEqualTo(SM90);
        assertThat(2 * (CudaChunkedGatedDeltaRule.recurShared(256, ChunkPrecision.BF16, 32, false, false, 8) + 1024))
                .as("the fp32 state in shared memory would not fit twice").isGreaterThan(SM90);
        assertThat(l.options()).as("registers' layout unrolls four k-steps").contains("-DMMA_UNROLL=4");
        assertThat(RecurLayout.choose(256, ChunkPrecision.BF16, 32, SM90, "-DMMA_UNROLL=2").options())
                .contains("-DMMA_UNROLL=2").doesNotContain("-DMMA_UNROLL=4");
        assertThat(RecurLayout.choose(256, ChunkPrecision.TF32X3, 32, SM90).mmaUnroll())
                .as("3xTF32 keeps the kernel's default").isZero();
    }

    @Test
    void threeTf32OperandsAreTooLargeForTwoBlocks() {
        RecurLayout l = RecurLayout.choose(256, ChunkPrecision.TF32X3, 32, SM90);
        assertThat(l.minBlocks()).isEqualTo(1);
        assertThat(l.stateInRegisters()).isFalse();
        assertThat(l.ktBuffer()).as("three fp32 [64, 264] buffers exceed one block's 220 KiB too").isFalse();
        assertThat(l.sharedBytes()).isGreaterThan(SM90 / 2);
    }

    @Test
    void threeTf32HeadsOf128KeysTakeSixtyFourValueColumnsASixteenWarpBlockAndWiderHeadsThirtyTwo() {
        assertThat(CudaChunkedGatedDeltaRule.defaultTile(128, ChunkPrecision.TF32X3)).isEqualTo(64);
        assertThat(CudaChunkedGatedDeltaRule.defaultTile(256, ChunkPrecision.TF32X3))
                .as("two fp32 [64, 264] buffers and the [256, 72] state exceed 220 KiB").isEqualTo(32);
        assertThat(CudaChunkedGatedDeltaRule.defaultTile(128, ChunkPrecision.BF16)).isEqualTo(32);
        assertThat(CudaChunkedGatedDeltaRule.defaultTile(64, ChunkPrecision.TF32X3))
                .as("64 keys fit two blocks of 32 columns").isEqualTo(32);
        RecurLayout l = RecurLayout.choose(128, ChunkPrecision.TF32X3, 64, SM90);
        assertThat(l.warps()).isEqualTo(16);
        assertThat(l.minBlocks()).isEqualTo(1);
        assertThat(l.sharedBytes()).isLessThanOrEqualTo(220 * 1024);
        assertThat(l.options()).contains("-DRECUR_WARPS=16");
        assertThat(RecurLayout.choose(128, ChunkPrecision.TF32X3, 64, SM90, "-DRECUR_WARPS=8").warps()).isEqualTo(8);
        assertThat(RecurLayout.choose(64, ChunkPrecision.BF16, 64, SM90).warps())
                .as("16 staging tiles (16 KiB) exceed a bf16 [64, 72] buffer (9 KiB)").isEqualTo(8);
        assertThat(RecurLayout.choose(64, ChunkPrecision.TF32X3, 64, SM90).warps()).isEqualTo(16);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> RecurLayout.choose(64, ChunkPrecision.BF16, 64, SM90, "-DRECUR_WARPS=16"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("RECUR_WARPS 16");
    }

    @Test
    void tuningDefinitionsOverrideTheChoice() {
        RecurLayout l = RecurLayout.choose(128, ChunkPrecision.BF16, 32, SM90, "-DSTATE_REGS=1", "-DKT_BUFFER=0",
                "-DMIN_BLOCKS=1");
        assertThat(l.stateInRegisters()).isTrue();
        assertThat(l.ktBuffer()).isFalse();
        assertThat(l.minBlocks()).isEqualTo(1);
        assertThat(l.sharedBytes()).isLessThan(RecurLayout.choose(128, ChunkPrecision.BF16, 32, SM90).sharedBytes());
        assertThat(RecurLayout.choose(256, ChunkPrecision.BF16, 32, SM90, "-DSTATE_REGS=0", "-DMIN_BLOCKS=1").ktBuffer())
                .as("Kt's buffer where one block has room for it").isTrue();
        assertThat(RecurLayout.decides("-DSTATE_REGS=1")).isTrue();
        assertThat(RecurLayout.decides("-DMMA_UNROLL=4")).isTrue();
        assertThat(RecurLayout.decides("-DKQ_LOADS=8")).isFalse();
    }

    @Test
    void thePreparationCapsItsRegistersForAsManyBlocksAsItsSharedMemoryAllowsUpToThree() {
        assertThat(CudaChunkedGatedDeltaRule.prepareBlocks(128, ChunkPrecision.BF16, SM90)).isEqualTo(3);
        assertThat(CudaChunkedGatedDeltaRule.prepareBlocks(256, ChunkPrecision.BF16, SM90)).isEqualTo(2);
        assertThat(CudaChunkedGatedDeltaRule.prepareBlocks(256, ChunkPrecision.TF32X3, SM90)).isEqualTo(1);
        assertThat(CudaChunkedGatedDeltaRule.prepareBlocks(128, ChunkPrecision.BF16, SM90, "-DPREPARE_BLOCKS=2"))
                .isEqualTo(2);
    }

    @Test
    void everySupportedShapeGetsALayoutThatFitsOneBlock() {
        int supported = 0;
        for (ChunkPrecision p : new ChunkPrecision[] {ChunkPrecision.TF32X3, ChunkPrecision.BF16}) {
            for (int tile : new int[] {16, 32, 64}) {
                for (int k = 64; k <= 1024; k += 64) {
                    if (!CudaChunkedGatedDeltaRule.supports(new DeltaRuleShape(1, 1, k, 128), p, tile)) {
                        continue;
                    }
                    supported++;
                    RecurLayout l = RecurLayout.choose(k, p, tile, SM90);
                    assertThat(l.sharedBytes()).as(p + " K=" + k + " tile " + tile + ": " + l)
                            .isLessThanOrEqualTo(220 * 1024);
                    assertThat(l.minBlocks() * (l.sharedBytes() + 1024)).as(p + " K=" + k + " tile " + tile)
                            .isLessThanOrEqualTo(SM90);
                }
            }
        }
        assertThat(supported).as("shapes supported").isGreaterThan(8);
        RecurLayout wide = RecurLayout.choose(512, ChunkPrecision.BF16, 32, SM90);
        assertThat(wide.minBlocks()).isEqualTo(1);
        assertThat(wide.stateInRegisters()).as("512 keys fit one block only with the state in registers").isTrue();
    }
}
