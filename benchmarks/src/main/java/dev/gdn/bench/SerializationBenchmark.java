package dev.gdn.bench;

import dev.gdn.kernels.model.ModelFingerprint;
import dev.gdn.kernels.model.RandomWeights;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.state.MemoryLayout;
import dev.gdn.state.ModelChangePolicy;
import dev.gdn.state.StorageDType;
import dev.gdn.state.StreamMemorySerializer;
import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Serializing and deserializing one FLA-1B stream memory (21 layers, 6 heads, K 256, V 512: about
 * 62 MiB in fp32) through Flink's data views, as the state backends do, next to a plain copy of the
 * same bytes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class SerializationBenchmark {
    @Param({"FP32", "BF16"})
    public StorageDType storage;

    StreamMemorySerializer serializer;
    StreamMemory memory;
    DataOutputSerializer out;
    byte[] bytes;
    byte[] copyTarget;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        MemoryLayout layout = MemoryLayout.of(RandomWeights.fla1b(21));
        ModelFingerprint fp = ModelFingerprint.of(new byte[ModelFingerprint.BYTES]);
        serializer = new StreamMemorySerializer(layout, fp, storage, ModelChangePolicy.FAIL);
        memory = layout.newMemory(fp);
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < memory.layerCount(); i++) {
            float[] s = memory.layer(i).parts()[0]; // the delta-rule state
            for (int j = 0; j < s.length; j++) {
                s[j] = (float) r.nextGaussian();
            }
        }
        out = new DataOutputSerializer((int) layout.payloadBytes(StorageDType.FP32) + 4096);
        serializer.serialize(memory, out);
        bytes = out.getCopyOfBuffer();
        copyTarget = new byte[bytes.length];
    }

    /** Bytes of the fp32 payload: the figure throughput is reported against. */
    public long payloadBytes() {
        return serializer.layout().payloadBytes(StorageDType.FP32);
    }

    @Benchmark
    public int serialize() throws IOException {
        out.clear();
        serializer.serialize(memory, out);
        return out.length();
    }

    @Benchmark
    public long deserialize() throws IOException {
        return serializer.deserialize(new DataInputDeserializer(bytes)).tokensConsumed();
    }

    /** The ceiling: copying the serialized bytes once. */
    @Benchmark
    public byte copyBytes() {
        System.arraycopy(bytes, 0, copyTarget, 0, bytes.length);
        return copyTarget[17];
    }
}
