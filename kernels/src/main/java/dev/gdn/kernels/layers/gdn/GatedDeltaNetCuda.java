package dev.gdn.kernels.layers.gdn;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.cuda.ChunkPrecision;
import dev.gdn.kernels.cuda.CudaChunkedGatedDeltaRule;
import dev.gdn.kernels.cuda.CudaLayer;
import dev.gdn.kernels.cuda.CudaRecurrentGatedDeltaRule;
import dev.gdn.kernels.cuda.CudaSetup;
import dev.gdn.kernels.cuda.CudaTokenMixer;
import dev.gdn.kernels.cuda.StatePrecision;
import dev.gdn.kernels.deltarule.DeltaRuleShape;
import dev.gdn.kernels.layers.LayerKinds;
import dev.gdn.kernels.layers.MixerWeights;
import java.util.Optional;

/**
 * Gated DeltaNet layers on the GPU: one recurrent kernel (decode step and runs) and, where the heads'
 * shape has one, one chunkwise kernel in the engine's chunk precision, shared by every layer.
 */
public final class GatedDeltaNetCuda implements CudaLayer {

    @Override
    public Optional<String> unsupportedReason(ModelConfig c) {
        return Optional.empty();
    }

    /** state {@code [HV, K, V]} (halved in bf16), then the q, k, v convolution caches {@code [W - 1, dim]}. */
    @Override
    public long[] partFloats(ModelConfig c, StatePrecision state) {
        return deltaRuleParts(c, state);
    }

    /** The device parts of a delta-rule layer's memory (Gated DeltaNet's layout, which KDA shares). */
    public static long[] deltaRuleParts(ModelConfig c, StatePrecision state) {
        long hist = c.convSize() - 1L;
        long stateElements = (long) c.numValueHeads() * c.headDim() * c.headValueDim();
        return new long[] {state == StatePrecision.BF16 ? (stateElements + 1) / 2 : stateElements,
            c.useShortConv() ? hist * c.keyDim() : 0, c.useShortConv() ? hist * c.keyDim() : 0,
            c.useShortConv() ? hist * c.valueDim() : 0};
    }

    /** The state, in bf16 states. */
    @Override
    public boolean bf16Part(int part, StatePrecision state) {
        return part == 0 && state == StatePrecision.BF16;
    }

    @Override
    public Kernels compile(CudaSetup s) {
        ModelConfig c = s.config();
        DeltaRuleShape shape = new DeltaRuleShape(c.numHeads(), c.numValueHeads(), c.headDim(), c.headValueDim());
        CudaRecurrentGatedDeltaRule rule = new CudaRecurrentGatedDeltaRule(s.device(), shape, s.statePrecision());
        ChunkPrecision form = CudaChunkedGatedDeltaRule.supports(shape, s.chunkPrecision()) ? s.chunkPrecision()
                : ChunkPrecision.FP32;
        CudaChunkedGatedDeltaRule chunk = CudaChunkedGatedDeltaRule.supports(shape, form)
                ? new CudaChunkedGatedDeltaRule(s.device(), shape, form, s.statePrecision()) : null;
        return new Kernels() {
            @Override
            public CudaTokenMixer mixer(MixerWeights w) {
                return new CudaDeltaNetMixer(s.device(), s.products(), c,
                        LayerKinds.GATED_DELTANET.cast(w, DeltaNetWeights.class), rule, chunk);
            }

            @Override
            public String describe() {
                return chunk == null ? "" : chunk.precision().label() + " chunkwise rule";
            }

            @Override
            public void close() {
                if (chunk != null) {
                    chunk.close();
                }
            }
        };
    }
}
