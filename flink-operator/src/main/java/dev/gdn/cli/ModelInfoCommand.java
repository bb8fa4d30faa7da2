package dev.gdn.cli;

import dev.gdn.kernels.config.ModelConfig;
import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.kernels.model.ModelWeights;
import dev.gdn.state.MemoryLayout;
import dev.gdn.state.StorageDType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gdn model info}: parameters, fingerprint and what one stream's memory costs. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Print a checkpoint's parameters, fingerprint and bytes per stream memory.")
public final class ModelInfoCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "checkpoint folder")
    Path model;

    @Option(names = "--memory", defaultValue = "16GiB", paramLabel = "SIZE",
            description = "memory to size against, e.g. 512MiB, 16GiB, 80GB (default ${DEFAULT-VALUE})")
    String memory;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        long budget = Sizes.parseBytes(memory, "--memory");
        GatedDeltaNetModel m = GatedDeltaNetModel.load(model, CpuKernels.reference());
        ModelConfig c = m.config();
        MemoryLayout layout = MemoryLayout.of(c);
        out.printf(Locale.ROOT, "model:            %s%n", model);
        out.printf(Locale.ROOT, "fingerprint:      %s%n", m.fingerprint().hex());
        out.printf(Locale.ROOT, "parameters:       %,d%n", parameters(m.weights()));
        out.printf(Locale.ROOT, "layers:           %d (%d gated deltanet, %d sliding-window attention)%n",
                c.numLayers(), c.deltaNetLayerCount(), c.numLayers() - c.deltaNetLayerCount());
        if (!c.labels().isEmpty()) {
            out.printf(Locale.ROOT, "classes:          %s%n", c.labels());
        }
        out.printf(Locale.ROOT, "shape:            hidden %d, heads %d, value heads %d, K %d, V %d, vocab %d%n",
                c.hiddenSize(), c.numHeads(), c.numValueHeads(), c.headDim(), c.headValueDim(), c.vocabSize());
        for (StorageDType d : StorageDType.values()) {
            long bytes = layout.payloadBytes(d);
            out.printf(Locale.ROOT, "memory per stream (%s): %,d bytes (%s); %,d streams fit in %s%n",
                    d.name().toLowerCase(Locale.ROOT), bytes, Sizes.human(bytes), budget / bytes, memory);
        }
        out.flush();
        return 0;
    }

    static long parameters(ModelWeights w) {
        Map<float[], Boolean> seen = new IdentityHashMap<>();
        long n = count(seen, w.embeddings()) + count(seen, w.finalNorm()) + count(seen, w.lmHead())
                + count(seen, w.score());
        for (ModelWeights.BlockWeights b : w.layers()) {
            n += count(seen, b.attnNorm()) + count(seen, b.mlpNorm()) + count(seen, b.mlp().gate())
                    + count(seen, b.mlp().up()) + count(seen, b.mlp().down());
            if (b.mixer() instanceof ModelWeights.DeltaNetWeights d) {
                for (float[] t : new float[][] {d.qProj(), d.kProj(), d.vProj(), d.aProj(), d.bProj(), d.aLog(),
                    d.dtBias(), d.qConv(), d.kConv(), d.vConv(), d.gProj(), d.oNorm(), d.oProj()}) {
                    n += count(seen, t);
                }
            } else if (b.mixer() instanceof ModelWeights.AttentionWeights a) {
                for (float[] t : new float[][] {a.qProj(), a.kProj(), a.vProj(), a.oProj(), a.qBias(), a.kBias(),
                    a.vBias()}) {
                    n += count(seen, t);
                }
            }
        }
        return n;
    }

    private static long count(Map<float[], Boolean> seen, float[] t) {
        return t == null || seen.put(t, Boolean.TRUE) != null ? 0 : t.length;
    }
}
