package dev.gdn.kernels.model;

import java.util.List;

/**
 * An engine that computes nothing, standing in for a GPU where what runs around the engine is measured:
 * its resident streams are {@link NoOpResidentStreams} advancing on a thread of their own, as a GPU
 * engine's do, and storing memories of the model's full size (zeros), as a GPU engine's copies down
 * are, so that writing them to keyed state and reading them back costs what it costs. It has no forward pass of its own: a caller that needs real hidden states or logits gets
 * an error saying so.
 */
public final class NoOpEngine implements ForwardEngine {
    @Override
    public String name() {
        return "noop (computes nothing; for measuring the host path)";
    }

    @Override
    public ForwardResult forward(List<StreamInput> batch, int[] offsets, boolean logits) {
        throw new UnsupportedOperationException("the no-op engine has no forward pass (" + batch.size()
                + " streams asked); it only stands in for resident streams");
    }

    @Override
    public float[] logits(float[] x, int rows) {
        throw new UnsupportedOperationException("the no-op engine has no LM head (" + rows + " rows asked)");
    }

    @Override
    public ResidentStreams residentStreams(GatedDeltaNetModel model, int capacity) {
        return new NoOpResidentStreams(capacity, model::newMemory, model.config().hiddenSize(),
                model.newMemory().payloadBytes(), true);
    }

    @Override
    public void close() {
    }
}
