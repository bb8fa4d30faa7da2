package dev.gdn.kernels.model;

import static dev.gdn.kernels.testing.Close.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory;
import dev.gdn.kernels.testing.Fixtures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.StringLength;

/**
 * Streaming invariance and batch invariance as properties: any split of a sequence into pieces gives
 * the one-pass logits; any grouping of streams into batches gives bitwise equal results.
 */
class StreamingProperties {
    private static final Map<String, GatedDeltaNetModel> MODELS = new ConcurrentHashMap<>();

    /** Chunkwise from 16 tokens whatever the head size, so that both forms meet in every property. */
    static GatedDeltaNetModel model(String name) {
        return MODELS.computeIfAbsent(name, n -> GatedDeltaNetModel.load(Fixtures.model(n), CpuKernels.fast(2, 16, 0)));
    }

    static String modelOf(int pick) {
        return Fixtures.modelNames().get(Math.floorMod(pick, 3));
    }

    static int[] tokens(GatedDeltaNetModel m, int n, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(m.config().vocabSize());
        }
        return t;
    }

    static int[] randomPieces(int total, long seed) {
        Random r = new Random(seed);
        List<Integer> p = new ArrayList<>();
        int left = total;
        while (left > 0) {
            int n = switch (r.nextInt(4)) {
                case 0 -> 1;
                case 1 -> 1 + r.nextInt(8);
                case 2 -> 30 + r.nextInt(40);
                default -> 1 + r.nextInt(total);
            };
            n = Math.min(n, left);
            p.add(n);
            left -= n;
        }
        return p.stream().mapToInt(Integer::intValue).toArray();
    }

    @Property(tries = 25)
    void anySplitGivesTheOnePassLogits(@ForAll @IntRange(min = 0, max = 2) int pick,
            @ForAll @IntRange(min = 1, max = 150) int length, @ForAll long seed) {
        GatedDeltaNetModel m = model(modelOf(pick));
        int[] toks = tokens(m, length, seed);
        float[] whole = m.forward(List.of(new StreamInput(m.newMemory(), toks))).logits();
        int[] pieces = randomPieces(length, seed ^ 0x5DEECE66DL);
        StreamMemory mem = m.newMemory();
        float[] streamed = new float[whole.length];
        int start = 0;
        for (int p : pieces) {
            float[] l = m.forward(List.of(new StreamInput(mem, Arrays.copyOfRange(toks, start, start + p)))).logits();
            System.arraycopy(l, 0, streamed, start * m.config().vocabSize(), l.length);
            start += p;
        }
        assertThat(mem.tokensConsumed()).isEqualTo(length);
        assertClose(modelOf(pick) + " pieces " + Arrays.toString(pieces), streamed, whole, 1e-5);
    }

    @Property(tries = 20)
    void anyGroupingIntoBatchesGivesBitwiseEqualResults(@ForAll @IntRange(min = 0, max = 2) int pick,
            @ForAll @StringLength(min = 2, max = 9) @net.jqwik.api.constraints.CharRange(from = 'a', to = 'c') String grouping,
            @ForAll long seed) {
        GatedDeltaNetModel m = model(modelOf(pick));
        Random r = new Random(seed);
        int streams = grouping.length();
        List<int[]> warmup = new ArrayList<>();
        List<int[]> piece = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            warmup.add(tokens(m, 1 + r.nextInt(40), r.nextLong()));
            int len = r.nextInt(3) == 0 ? 1 + r.nextInt(80) : 1 + r.nextInt(3);
            piece.add(tokens(m, len, r.nextLong()));
        }
        // alone: every stream in a batch of its own
        List<float[]> alone = new ArrayList<>();
        List<StreamMemory> aloneMem = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            StreamMemory mem = m.newMemory();
            m.forward(List.of(new StreamInput(mem, warmup.get(s))));
            alone.add(m.forward(List.of(new StreamInput(mem, piece.get(s)))).logits());
            aloneMem.add(mem);
        }
        // grouped: streams with the same letter share a batch, both for warm-up and for the piece
        List<StreamMemory> mems = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            mems.add(m.newMemory());
        }
        float[][] grouped = new float[streams][];
        for (char g = 'a'; g <= 'c'; g++) {
            List<Integer> members = new ArrayList<>();
            for (int s = 0; s < streams; s++) {
                if (grouping.charAt(s) == g) {
                    members.add(s);
                }
            }
            if (members.isEmpty()) {
                continue;
            }
            List<StreamInput> w = new ArrayList<>();
            List<StreamInput> p = new ArrayList<>();
            for (int s : members) {
                w.add(new StreamInput(mems.get(s), warmup.get(s)));
                p.add(new StreamInput(mems.get(s), piece.get(s)));
            }
            m.forward(w);
            ForwardResult res = m.forward(p);
            for (int i = 0; i < members.size(); i++) {
                grouped[members.get(i)] = res.logitsOf(i);
            }
        }
        for (int s = 0; s < streams; s++) {
            assertThat(grouped[s]).as("stream " + s + " logits").containsExactly(alone.get(s));
            DeltaNetLayerMemory a = (DeltaNetLayerMemory) aloneMem.get(s).layer(0);
            DeltaNetLayerMemory b = (DeltaNetLayerMemory) mems.get(s).layer(0);
            assertThat(b.state()).as("stream " + s + " state").containsExactly(a.state());
        }
    }
}
