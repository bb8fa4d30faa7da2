package dev.gdn.kernels.layers.kda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gdn.kernels.config.ConfigException;
import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.config.ModelConfigParser;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.gdn.DeltaNetLayerMemory;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.RandomWeights;
import dev.gdn.kernels.model.StreamInput;
import dev.gdn.kernels.model.StreamMemory;
import dev.gdn.kernels.parity.RelativeError;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kimi Delta Attention as a layer kind on the CPU, before FLA's fixtures for it exist: a {@code kda}
 * config.json (as FLA's KDAConfig writes one, here a hybrid with an attention layer and grouped value
 * heads) gives KDA layers; the mixer agrees with an fp64 evaluation written here from the layer's
 * definition (FLA's {@code KimiDeltaAttention}), with and without a lower bound on the gate; a model of
 * random weights streams in pieces as in one pass and gives each stream the same bits alone or batched.
 */
public class KdaModelTest {
    static final ObjectMapper JSON = new ObjectMapper();

    public static ObjectNode config(Double lowerBound) {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", "kda").put("vocab_size", 64).put("hidden_size", 32).put("num_heads", 2)
                .put("num_v_heads", 4).put("head_dim", 8).put("expand_v", 1.5).put("num_hidden_layers", 3)
                .put("conv_size", 4).put("use_short_conv", true).put("allow_neg_eigval", true).put("norm_eps", 1e-6)
                .put("hidden_ratio", 4).put("tie_word_embeddings", false).put("attn_mode", "chunk")
                .put("safe_gate", false).putNull("attnres_block_size");
        if (lowerBound == null) {
            c.putNull("lower_bound");
        } else {
            c.put("lower_bound", lowerBound);
        }
        ObjectNode attn = c.putObject("attn");
        attn.putArray("layers").add(1);
        attn.put("num_heads", 2).put("num_kv_heads", 1).put("window_size", 8).put("rope_theta", 10000.0);
        return c;
    }

    public static ModelConfig parse(ObjectNode c) {
        return ModelConfigParser.parse(c, "kda config.json");
    }

    @Test
    void aKdaConfigGivesKdaLayersBesideItsAttentionLayers() {
        ModelConfig c = parse(config(null));
        assertThat(KdaConfig.of(c)).isPresent();
        assertThat(LayerKinds.of(c, 0)).isSameAs(LayerKinds.KDA);
        assertThat(LayerKinds.of(c, 1)).isSameAs(LayerKinds.ATTENTION);
        assertThat(LayerKinds.of(c, 2)).isSameAs(LayerKinds.KDA);
        assertThat(c.headValueDim()).isEqualTo(12);
        assertThat(LayerKinds.KDA.memoryShape(c)).hasToString("kda[HV=4, K=8, V=12, conv=3x(16,16,48)]");
        GatedDeltaNetModel m = new GatedDeltaNetModel(c, RandomWeights.of(c, 1), CpuKernels.fast(1, 64));
        assertThat(m.newMemory().layer(0).kind()).isSameAs(LayerKinds.KDA);
        assertThat(m.newMemory().layer(0)).isNotEqualTo(new DeltaNetLayerMemory(
                new float[4 * 8 * 12], new float[3 * 16], new float[3 * 16], new float[3 * 48]));
        // a gated_deltanet model of the same shapes hashes otherwise
        ObjectNode gdn = config(null);
        gdn.put("model_type", "gated_deltanet");
        gdn.remove(List.of("safe_gate", "lower_bound"));
        assertThat(KdaConfig.of(parse(gdn))).isEmpty();
        assertThat(dev.gdn.kernels.model.ModelFingerprint.compute(parse(config(-5.0)), RandomWeights.of(c, 1)))
                .isNotEqualTo(m.fingerprint());
    }

    @Test
    void aKdaConfigIsReadAsStrictlyAsAGatedDeltaNetOne() {
        ObjectNode gate = config(null);
        gate.put("use_gate", true);
        assertThatThrownBy(() -> parse(gate)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("unsupported option(s) [use_gate]");
        ObjectNode safe = config(null);
        safe.put("safe_gate", true);
        assertThatThrownBy(() -> parse(safe)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("safe_gate=true needs lower_bound");
        assertThatThrownBy(() -> parse(config(0.5))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("lower_bound must be a negative number or null, found 0.5");
        ObjectNode other = config(null);
        other.put("model_type", "rwkv7");
        assertThatThrownBy(() -> parse(other)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("model_type is 'rwkv7', expected 'gated_deltanet' or 'kda'");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.0, -5.0})
    void theMixerAgreesWithAnFp64EvaluationOfTheLayer(double lower) {
        ModelConfig c = parse(config(lower == 0 ? null : lower));
        KdaWeights w = (KdaWeights) RandomWeights.of(c, 2).layers().get(0).mixer();
        KdaMixer mixer = new KdaMixer(c, w);
        Random r = new Random(3);
        int[] offsets = {0, 5, 6, 19};
        int rows = offsets[3];
        float[] x = new float[rows * c.hiddenSize()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        List<StreamInput> batch = new java.util.ArrayList<>();
        for (int s = 0; s < 3; s++) {
            StreamMemory mem = new StreamMemory(new dev.gdn.kernels.model.LayerMemory[] {mixer.newMemory()}, 0,
                    dev.gdn.kernels.model.ModelFingerprint.of(new byte[dev.gdn.kernels.model.ModelFingerprint.BYTES]));
            float[] state = ((DeltaNetLayerMemory) mem.layer(0)).state();
            for (int i = 0; i < state.length; i++) {
                state[i] = (float) (0.1 * r.nextGaussian());
            }
            batch.add(new StreamInput(mem, new int[offsets[s + 1] - offsets[s]]));
        }
        double[][] states = new double[3][];
        for (int s = 0; s < 3; s++) {
            float[] st = ((DeltaNetLayerMemory) batch.get(s).memory().layer(0)).state();
            states[s] = new double[st.length];
            for (int i = 0; i < st.length; i++) {
                states[s][i] = st[i];
            }
        }
        float[] y = mixer.forward(CpuKernels.fast(1, 64), x, offsets, batch, 0).clone();
        double[] ref = KdaReference.forward(c, w, x, offsets, states);
        float[] refF = new float[rows * c.hiddenSize()];
        for (int i = 0; i < refF.length; i++) {
            refF[i] = (float) ref[i];
        }
        float[] out = java.util.Arrays.copyOf(y, refF.length);
        assertThat(RelativeError.of(out, refF).value()).as("mixer output").isLessThan(1e-5);
        for (int s = 0; s < 3; s++) {
            float[] st = ((DeltaNetLayerMemory) batch.get(s).memory().layer(0)).state();
            float[] refSt = new float[st.length];
            for (int i = 0; i < st.length; i++) {
                refSt[i] = (float) states[s][i];
            }
            assertThat(RelativeError.of(st, refSt).value()).as("state of stream " + s).isLessThan(1e-5);
        }
    }

    @Test
    void aKdaModelStreamsInPiecesAsInOnePassAndBatchesBitForBit() {
        ModelConfig c = parse(config(null));
        GatedDeltaNetModel m = new GatedDeltaNetModel(c, RandomWeights.of(c, 4), CpuKernels.fast(1, 64));
        int[] tokens = new Random(5).ints(40, 0, c.vocabSize()).toArray();
        StreamMemory one = m.newMemory();
        float[] whole = m.forward(List.of(new StreamInput(one, tokens)), true).logits();
        StreamMemory pieces = m.newMemory();
        float[] streamed = new float[whole.length];
        int at = 0;
        for (int n : new int[] {13, 1, 1, 25}) {
            float[] l = m.forward(List.of(new StreamInput(pieces, java.util.Arrays.copyOfRange(tokens, at, at + n))),
                    true).logits();
            System.arraycopy(l, 0, streamed, at * c.vocabSize(), l.length);
            at += n;
        }
        assertThat(RelativeError.of(streamed, whole).value()).isLessThan(1e-5);
        assertThat(pieces.layer(0)).isInstanceOf(DeltaNetLayerMemory.class);
        // the same stream alone and beside another in one batch: the same bits
        int[] other = new Random(6).ints(9, 0, c.vocabSize()).toArray();
        StreamMemory alone = m.newMemory();
        float[] a = m.forward(List.of(new StreamInput(alone, java.util.Arrays.copyOf(tokens, 9))), true).logits();
        StreamMemory withOther = m.newMemory();
        var both = m.forward(List.of(new StreamInput(m.newMemory(), other),
                new StreamInput(withOther, java.util.Arrays.copyOf(tokens, 9))), true);
        assertThat(both.logitsOf(1)).containsExactly(a);
        assertThat(withOther).isEqualTo(alone);
    }

    /**
     * A long run on heads the CPU kernels run chunkwise (threshold and head size lowered to this model's)
     * gives the token-by-token model's logits and memory within the chunkwise tolerance, and is not the
     * token-by-token computation (its bits differ); a stream beside shorter ones takes the same form.
     */
    @ParameterizedTest
    @ValueSource(doubles = {0.0, -5.0})
    void longRunsTakeTheChunkwiseRuleWithin1e4OfTheTokenByTokenOne(double lower) {
        ModelConfig c = parse(config(lower == 0 ? null : lower));
        var w = RandomWeights.of(c, 8);
        GatedDeltaNetModel chunked = new GatedDeltaNetModel(c, w, CpuKernels.fast(1, 16, 0));
        GatedDeltaNetModel tokens = new GatedDeltaNetModel(c, w, CpuKernels.fast(1, Integer.MAX_VALUE));
        int[] run = new Random(9).ints(150, 0, c.vocabSize()).toArray();
        StreamMemory a = chunked.newMemory();
        StreamMemory b = tokens.newMemory();
        float[] la = chunked.forward(List.of(new StreamInput(a, run)), true).logits();
        float[] lb = tokens.forward(List.of(new StreamInput(b, run)), true).logits();
        double e = RelativeError.of(la, lb).value();
        System.out.printf("kda chunkwise vs token by token (lower_bound %s): logits %.2e%n", lower, e);
        assertThat(e).isLessThan(1e-4);
        assertThat(la).isNotEqualTo(lb);
        assertThat(RelativeError.of(((DeltaNetLayerMemory) a.layer(2)).state(),
                ((DeltaNetLayerMemory) b.layer(2)).state()).value()).isLessThan(1e-4);
        StreamMemory beside = chunked.newMemory();
        var batch = chunked.forward(List.of(new StreamInput(chunked.newMemory(), java.util.Arrays.copyOf(run, 5)),
                new StreamInput(beside, run)), true);
        assertThat(batch.logitsOf(1)).containsExactly(la);
    }

    /**
     * KDA beside both other kinds (a kda config with attention at layer 1 and Mamba2 at layer 3): each layer
     * takes its kind, and the model streams in pieces as in one pass (within the fp32 recurrent tolerance).
     */
    @Test
    void aKdaMamba2AndAttentionHybridStreamsInPiecesAsInOnePass() {
        ObjectNode json = config(-5.0);
        json.put("num_hidden_layers", 4);
        ObjectNode m2 = json.putObject("mamba2");
        m2.putArray("layers").add(3);
        m2.put("num_heads", 4).put("head_dim", 16).put("state_size", 8).put("expand", 2).put("n_groups", 1)
                .put("conv_kernel", 4).put("use_conv_bias", true).put("norm_before_gate", false).put("norm_eps", 1e-5);
        ModelConfig c = parse(json);
        assertThat(java.util.stream.IntStream.range(0, 4).mapToObj(l -> LayerKinds.of(c, l)))
                .containsExactly(LayerKinds.KDA, LayerKinds.ATTENTION, LayerKinds.KDA, LayerKinds.MAMBA2);
        GatedDeltaNetModel m = new GatedDeltaNetModel(c, RandomWeights.of(c, 12), CpuKernels.fast(1, 64));
        int[] tokens = new Random(13).ints(30, 0, c.vocabSize()).toArray();
        StreamMemory one = m.newMemory();
        float[] whole = m.forward(List.of(new StreamInput(one, tokens)), true).logits();
        StreamMemory pieces = m.newMemory();
        float[] streamed = new float[whole.length];
        int at = 0;
        for (int n : new int[] {7, 1, 22}) {
            float[] l = m.forward(List.of(new StreamInput(pieces, java.util.Arrays.copyOfRange(tokens, at, at + n))),
                    true).logits();
            System.arraycopy(l, 0, streamed, at * c.vocabSize(), l.length);
            at += n;
        }
        assertThat(RelativeError.of(streamed, whole).value()).isLessThan(1e-5);
        assertThat(pieces.layer(3).kind()).isSameAs(LayerKinds.MAMBA2);
        assertThat(pieces.layer(0).kind()).isSameAs(LayerKinds.KDA);
    }
}
