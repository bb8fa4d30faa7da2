package dev.gdn.kernels.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader on good files and on every kind of hostile or truncated one. */
class SafetensorsFileTest {
    @TempDir
    Path dir;

    private Path raw(long headerLen, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLen).put(h);
        Path p = dir.resolve("t.safetensors");
        Files.write(p, b.array());
        return p;
    }

    private Path file(String header, int dataBytes) throws IOException {
        return raw(header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    @Test
    void roundTripsF32AndI32() throws IOException {
        Path p = dir.resolve("ok.safetensors");
        new SafetensorsWriter().addF32("w", new float[] {1.5f, -2f, 3.25f, 0f, 7f, 8f}, 2, 3)
                .addI32("ids", new int[] {4, 5}, 2).metadata("format", "pt").write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.info("w").hasShape(2, 3)).isTrue();
            assertThat(f.floats("w")).containsExactly(1.5f, -2f, 3.25f, 0f, 7f, 8f);
            assertThat(f.ints("ids")).containsExactly(4, 5);
            assertThat(f.metadata()).containsEntry("format", "pt");
        }
    }

    @Test
    void convertsBf16AndF16Exactly() throws IOException {
        // bf16: 1.0 = 0x3F80, -2.5 = 0xC020; f16: 1.0 = 0x3C00, -2.5 = 0xC100, smallest subnormal 0x0001
        Path p = file("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[4,10]}}", 10);
        byte[] all = Files.readAllBytes(p);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int base = all.length - 10;
        b.putShort(base, (short) 0x3F80).putShort(base + 2, (short) 0xC020);
        b.putShort(base + 4, (short) 0x3C00).putShort(base + 6, (short) 0xC100).putShort(base + 8, (short) 0x0001);
        Files.write(p, all);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.floats("a")).containsExactly(1f, -2.5f);
            assertThat(f.floats("b")).containsExactly(1f, -2.5f, 0x1p-24f);
        }
        assertThat(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(1.00390625f))).isEqualTo(1f); // ties to even
    }

    @Test
    void missingFile() {
        assertThatThrownBy(() -> SafetensorsFile.open(dir.resolve("nope.safetensors")))
                .isInstanceOf(SafetensorsFormatException.class).hasMessageContaining("no such file");
    }

    @Test
    void fileShorterThanTheLengthField() throws IOException {
        Path p = dir.resolve("short");
        Files.write(p, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("truncated: 3 bytes");
    }

    @Test
    void headerLengthBeyondTheCapNeverAllocates() throws IOException {
        Path p = raw(Long.MAX_VALUE, "{}", 0);
        assertThatThrownBy(() -> SafetensorsFile.open(p)).isInstanceOf(SafetensorsFormatException.class)
                .hasMessageContaining("header length " + Long.MAX_VALUE + " is outside");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        Path p = raw(5000, "{}", 0);
        assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("truncated: header length 5000");
    }

    @Test
    void headerNotJson() throws IOException {
        assertThatThrownBy(() -> SafetensorsFile.open(file("{not json", 0))).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> SafetensorsFile.open(file("[1,2]", 0))).hasMessageContaining("must be a JSON object");
    }

    @Test
    void deeplyNestedHeaderIsRejectedCleanly() throws IOException {
        String deep = "{\"a\":" + "[".repeat(5000) + "]".repeat(5000) + "}";
        assertThatThrownBy(() -> SafetensorsFile.open(file(deep, 0))).isInstanceOf(SafetensorsFormatException.class);
    }

    @Test
    void offsetsOutsideTheData() throws IOException {
        Path p = file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("outside the data section of 8 bytes");
    }

    @Test
    void shapeAndByteRangeDisagree() throws IOException {
        Path p = file("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
        assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("needs 12 bytes but data_offsets span 8");
    }

    @Test
    void overlappingTensors() throws IOException {
        Path p = file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("overlap");
    }

    @Test
    void unknownDtypeNegativeShapeAndOverflow() throws IOException {
        assertThatThrownBy(() -> SafetensorsFile.open(file(
                "{\"w\":{\"dtype\":\"F8_E9\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1)))
                .hasMessageContaining("unknown dtype 'F8_E9'");
        assertThatThrownBy(() -> SafetensorsFile.open(file(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4)))
                .hasMessageContaining("non-negative integers");
        assertThatThrownBy(() -> SafetensorsFile.open(file(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4)))
                .hasMessageContaining("overflows");
    }

    @Test
    void hugeDeclaredShapeWithMatchingOffsetsStillFailsOnTheFileSize() throws IOException {
        // 2^40 floats declared: the header is consistent with itself but not with the file
        Path p = file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776],\"data_offsets\":[0,4398046511104]}}", 16);
        assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("outside the data section");
    }

    @Test
    void missingTensorAndWrongKind() throws IOException {
        Path p = dir.resolve("ok.safetensors");
        new SafetensorsWriter().addI32("ids", new int[] {1}, 1).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThatThrownBy(() -> f.info("w")).hasMessageContaining("no tensor named 'w'");
            assertThatThrownBy(() -> f.floats("ids")).hasMessageContaining("is I32, expected F32, F16 or BF16");
        }
    }
}
