package dev.gdn.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.StreamMemory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Round trips and every corruption of the binary format. */
@Timeout(120)
class StreamMemoryFormatTest {

    static byte[] write(StreamMemory m, MemoryLayout layout, StorageDType dtype) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        StreamMemoryFormat.write(m, layout, dtype, new DataOutputStream(bos));
        return bos.toByteArray();
    }

    static StreamMemory read(byte[] bytes, MemoryLayout layout) throws IOException {
        return StreamMemoryFormat.read(new DataInputStream(new ByteArrayInputStream(bytes)), layout);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gdn-tiny", "gdn-gva-negeig", "h1-swa", "h2-tiny"})
    void fp32RoundTripIsBitwise(String name) throws IOException {
        GatedDeltaNetModel m = TestModels.model(name);
        StreamMemory mem = TestModels.memoryAfter(m, 37, 1);
        byte[] bytes = write(mem, TestModels.layout(m), StorageDType.FP32);
        StreamMemory back = read(bytes, TestModels.layout(m));
        assertThat(back).isEqualTo(mem);
        assertThat(back.fingerprint()).isEqualTo(m.fingerprint());
        assertThat(back.tokensConsumed()).isEqualTo(37);
        assertThat(bytes.length).isBetween((int) TestModels.layout(m).payloadBytes(StorageDType.FP32),
                (int) TestModels.layout(m).payloadBytes(StorageDType.FP32) + 400);
    }

    @Test
    void bf16RoundTripIsWithinHalfAnUlpOfBf16() throws IOException {
        GatedDeltaNetModel m = TestModels.model("h1-swa");
        StreamMemory mem = TestModels.memoryAfter(m, 50, 2);
        byte[] bytes = write(mem, TestModels.layout(m), StorageDType.BF16);
        assertThat(bytes.length).isLessThan((int) TestModels.layout(m).payloadBytes(StorageDType.FP32) / 2 + 400);
        StreamMemory back = read(bytes, TestModels.layout(m));
        float[] a = ((DeltaNetLayerMemory) mem.layer(0)).state();
        float[] b = ((DeltaNetLayerMemory) back.layer(0)).state();
        for (int i = 0; i < a.length; i++) {
            assertThat(Math.abs(b[i] - a[i])).as("element %d", i).isLessThanOrEqualTo(Math.abs(a[i]) * 0x1p-8f);
        }
        assertThat(back.tokensConsumed()).isEqualTo(mem.tokensConsumed());
    }

    @Test
    void everyTruncationIsAClearError() throws IOException {
        GatedDeltaNetModel m = TestModels.model("gdn-gva-negeig");
        MemoryLayout layout = TestModels.layout(m);
        byte[] bytes = write(TestModels.memoryAfter(m, 5, 3), layout, StorageDType.FP32);
        for (int cut : new int[] {0, 3, 5, 6, 40, 60, 100, bytes.length / 2, bytes.length - 4, bytes.length - 1}) {
            byte[] part = java.util.Arrays.copyOf(bytes, cut);
            assertThatThrownBy(() -> read(part, layout)).as("cut at %d", cut)
                    .isInstanceOf(MemoryFormatException.class).hasMessageContaining("truncated");
        }
    }

    @Test
    void everyFlippedByteIsDetected() throws IOException {
        GatedDeltaNetModel m = TestModels.model("gdn-gva-negeig");
        MemoryLayout layout = TestModels.layout(m);
        StreamMemory mem = boundWithHidden(m, "s9", 9, 4);
        byte[] bytes = write(mem, layout, StorageDType.FP32);
        Random r = new Random(5);
        for (int trial = 0; trial < 300; trial++) {
            byte[] bad = bytes.clone();
            int at = trial < 120 ? trial : r.nextInt(bad.length);
            bad[at] ^= (byte) (1 << r.nextInt(8));
            assertThatThrownBy(() -> read(bad, layout)).as("flip at %d", at).isInstanceOf(MemoryFormatException.class);
        }
    }

    /** A memory as the operator stores it: bound to its stream, with its last hidden state. */
    static StreamMemory boundWithHidden(GatedDeltaNetModel m, String stream, int tokens, int seed) {
        StreamMemory mem = TestModels.memoryAfter(m, tokens, seed);
        mem.bindTo(StreamBinding.digest(stream));
        float[] h = new float[m.config().hiddenSize()];
        Random r = new Random(seed);
        for (int i = 0; i < h.length; i++) {
            h[i] = (float) r.nextGaussian();
        }
        mem.setLastHidden(h);
        return mem;
    }

    @Test
    void theStreamBindingAndLastHiddenStateRoundTripUnderTheChecksum() throws IOException {
        GatedDeltaNetModel m = TestModels.model("gdn-gva-negeig");
        MemoryLayout layout = TestModels.layout(m);
        StreamMemory mem = boundWithHidden(m, "stream-5", 9, 4);
        byte[] bytes = write(mem, layout, StorageDType.BF16);
        StreamMemory back = read(bytes, layout);
        assertThat(back.isBound()).isTrue();
        assertThat(back.streamDigest()).isEqualTo(StreamBinding.digest("stream-5"));
        // the last hidden state stays fp32 whatever the storage dtype
        assertThat(back.lastHidden()).containsExactly(mem.lastHidden());
        StreamBinding.check(back, "stream-5");
        assertThatThrownBy(() -> StreamBinding.check(back, "stream-X")).isInstanceOf(MemoryFormatException.class)
                .hasMessageContaining("the memory stored under stream 'stream-X' belongs to another stream");
        // every byte of the binding and of the hidden state is covered: flip each bit of the tail
        int hiddenBytes = 4 * m.config().hiddenSize();
        for (int at = bytes.length - 4 - hiddenBytes; at < bytes.length - 4; at += 7) {
            byte[] bad = bytes.clone();
            bad[at] ^= 0x10;
            assertThatThrownBy(() -> read(bad, layout)).as("flip at %d", at).isInstanceOf(MemoryFormatException.class)
                    .hasMessageContaining("corrupt");
        }
        for (int at = 6; at < 6 + 2 + 32 + 8 + 8 + 4; at++) {
            byte[] bad = bytes.clone();
            bad[at] ^= 0x01;
            assertThatThrownBy(() -> read(bad, layout)).as("header flip at %d", at)
                    .isInstanceOf(MemoryFormatException.class);
        }
    }

    /**
     * Mamba2 layers need format version 4; memories of models without them are still written as version
     * 3 (what earlier releases read), and a version 4 reader reads both.
     */
    @Test
    void mamba2MemoriesAreVersionFourAndOthersStayVersionThree() throws IOException {
        GatedDeltaNetModel h2 = TestModels.model("h2-tiny");
        MemoryLayout h2Layout = TestModels.layout(h2);
        assertThat(h2Layout.toString()).contains("mamba2[H=8, P=32, N=16, conv=3x288]");
        StreamMemory mem = TestModels.memoryAfter(h2, 30, 2);
        byte[] v4 = write(mem, h2Layout, StorageDType.BF16);
        assertThat(ByteBuffer.wrap(v4).getShort(4)).isEqualTo((short) 4);
        StreamMemory back = read(v4, h2Layout);
        assertThat(back.layer(0)).isInstanceOf(dev.gdn.kernels.layers.mamba2.Mamba2LayerMemory.class);
        assertThat(back.tokensConsumed()).isEqualTo(30);
        // relabelled as version 3, the Mamba2 layer is refused by name
        byte[] asV3 = v4.clone();
        asV3[5] = 3;
        assertThatThrownBy(() -> read(asV3, h2Layout)).isInstanceOf(MemoryFormatException.class)
                .hasMessageContaining("layer 0 is expected to be mamba2[H=8, P=32, N=16, conv=3x288], which format "
                        + "version 3 cannot hold");
        // a Gated DeltaNet + attention memory: version 3, and the same bytes under version 4 read the same
        GatedDeltaNetModel h1 = TestModels.model("h1-swa");
        StreamMemory h1Mem = TestModels.memoryAfter(h1, 12, 5);
        byte[] v3 = write(h1Mem, TestModels.layout(h1), StorageDType.FP32);
        assertThat(ByteBuffer.wrap(v3).getShort(4)).isEqualTo((short) 3);
        byte[] relabelled = v3.clone();
        relabelled[5] = 4;
        assertThat(read(relabelled, TestModels.layout(h1))).isEqualTo(h1Mem);
        // an H2 memory read with the H1 layout names the layer kinds
        assertThatThrownBy(() -> read(v4, TestModels.layout(h1))).isInstanceOf(MemoryFormatException.class)
                .hasMessageContaining("memory has 6 layers, expected 4");
    }

    @Test
    void versionTwoMemoriesAreReadUnboundAndWithoutAHiddenState() throws IOException {
        GatedDeltaNetModel m = TestModels.model("h1-swa");
        MemoryLayout layout = TestModels.layout(m);
        StreamMemory mem = TestModels.memoryAfter(m, 21, 3);
        byte[] bytes = write(mem, layout, StorageDType.FP32);
        // version 3 without binding or hidden state has the bytes of version 2 after the version field
        bytes[5] = 2;
        StreamMemory back = read(bytes, layout);
        assertThat(back).isEqualTo(mem);
        assertThat(back.isBound()).isFalse();
        assertThat(back.lastHidden()).isNull();
        StreamBinding.check(back, "any stream");
        byte[] flagged = write(boundWithHidden(m, "s", 21, 3), layout, StorageDType.FP32);
        flagged[5] = 2;
        assertThatThrownBy(() -> read(flagged, layout)).isInstanceOf(MemoryFormatException.class)
                .hasMessageContaining("reserved header byte is 3, expected 0");
    }

    @Test
    void wrongMagicVersionAndShapesNameWhatWasFound() throws IOException {
        GatedDeltaNetModel tiny = TestModels.model("gdn-tiny");
        GatedDeltaNetModel gva = TestModels.model("gdn-gva-negeig");
        byte[] bytes = write(TestModels.memoryAfter(tiny, 3, 6), TestModels.layout(tiny), StorageDType.FP32);

        byte[] magic = bytes.clone();
        magic[0] = 'X';
        assertThatThrownBy(() -> read(magic, TestModels.layout(tiny)))
                .hasMessageContaining("not a stream memory: magic 0x58444E4D, expected 0x47444E4D");

        byte[] version = bytes.clone();
        ByteBuffer.wrap(version).putShort(4, (short) 9);
        assertThatThrownBy(() -> read(version, TestModels.layout(tiny)))
                .hasMessageContaining("format version 9 is not supported, expected 1 to 4 (written by a newer release)");

        assertThatThrownBy(() -> read(bytes, TestModels.layout(gva)))
                .hasMessageContaining("memory has 3 layers, expected 2");

        byte[] dtype = bytes.clone();
        dtype[6] = 7;
        assertThatThrownBy(() -> read(dtype, TestModels.layout(tiny))).hasMessageContaining("storage dtype code 7");
    }

    @Test
    void shapesAreCheckedAgainstTheExpectedLayoutNotTrusted() throws IOException {
        GatedDeltaNetModel h1 = TestModels.model("h1-swa");
        MemoryLayout layout = TestModels.layout(h1);
        byte[] bytes = write(TestModels.memoryAfter(h1, 20, 7), layout, StorageDType.FP32);
        // layer 0 descriptor starts after magic(4) version(2) dtype(1) reserved(1) fp(32) tokens(8) count(2) kind(1)
        byte[] bad = bytes.clone();
        ByteBuffer.wrap(bad).putInt(51, 1 << 30); // HV = 2^30 declared
        assertThatThrownBy(() -> read(bad, layout)).isInstanceOf(MemoryFormatException.class)
                .hasMessageContaining("layer 0 is deltanet[HV=1073741824")
                .hasMessageContaining("expected deltanet[HV=2");
    }

    @Test
    void writingAMemoryOfAnotherLayoutIsRefused() {
        GatedDeltaNetModel tiny = TestModels.model("gdn-tiny");
        GatedDeltaNetModel gva = TestModels.model("gdn-gva-negeig");
        assertThatThrownBy(() -> write(gva.newMemory(), TestModels.layout(tiny), StorageDType.FP32))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not have the layout");
    }
}
