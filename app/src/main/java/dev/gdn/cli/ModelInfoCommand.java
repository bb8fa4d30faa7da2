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
        java.util.List<String> kinds = new java.util.ArrayList<>();
        for (dev.gdn.kernels.layers.LayerKind k : dev.gdn.kernels.layers.LayerKinds.all()) {
            long n = java.util.stream.IntStream.range(0, c.numLayers())
                    .filter(l -> dev.gdn.kernels.layers.LayerKinds.of(c, l) == k).count();
            if (n > 0) {
                kinds.add(n + " " + k.label());
            }
        }
        out.printf(Locale.ROOT, "layers:           %d (%s)%n", c.numLayers(), String.join(", ", kinds));
        out.printf(Locale.ROOT, "layer types:      %s%n", layout);
        // a tokenizer.json that cannot load fails here, naming the file, as the job would at its start
        java.util.Optional<dev.gdn.text.ModelTokenizer> tokenizer = dev.gdn.text.ModelTokenizer.forModel(model);
        out.printf(Locale.ROOT, "tokenizer:        %s%n", tokenizer.map(t -> t.file().toString())
                .orElse("none (events carry token ids; 'text' events are dead letters)"));
        tokenizer.ifPresent(dev.gdn.text.ModelTokenizer::close);
        if (!c.labels().isEmpty()) {
            out.printf(Locale.ROOT, "classes:          %s%n", c.labels());
        }
        out.printf(Locale.ROOT, "shape:            hidden %d, heads %d, value heads %d, K %d, V %d, vocab %d%n",
                c.hiddenSize(), c.numHeads(), c.numValueHeads(), c.headDim(), c.headValueDim(), c.vocabSize());
        for (dev.gdn.kernels.layers.LayerKind kind : dev.gdn.kernels.layers.LayerKinds.all()) {
            kind.describeBlock(c).ifPresent(d -> out.printf(Locale.ROOT, "%-18s%s%n", kind.name() + ":", d));
        }
        for (StorageDType d : StorageDType.values()) {
            long bytes = layout.payloadBytes(d);
            out.printf(Locale.ROOT, "memory per stream (%s): %,d bytes (%s); %,d streams fit in %s%n",
                    d.name().toLowerCase(Locale.ROOT), bytes, Sizes.human(bytes), budget / bytes, memory);
        }
        out.flush();
        return 0;
    }

    /** Parameters of the checkpoint: every distinct weight array once (a tied LM head counts once). */
    static long parameters(ModelWeights w) {
        Map<float[], Boolean> seen = new IdentityHashMap<>();
        long n = 0;
        for (float[] t : w.tensors()) {
            n += count(seen, t);
        }
        return n;
    }

    private static long count(Map<float[], Boolean> seen, float[] t) {
        return t == null || seen.put(t, Boolean.TRUE) != null ? 0 : t.length;
    }
}
