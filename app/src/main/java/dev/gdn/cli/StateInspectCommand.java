package dev.gdn.cli;

import dev.gdn.kernels.model.CpuKernels;
import dev.gdn.kernels.model.GatedDeltaNetModel;
import dev.gdn.state.MemoryInspection;
import dev.gdn.state.MemoryLayout;
import dev.gdn.state.ModelChangePolicy;
import dev.gdn.run.SavepointMemories;
import dev.gdn.state.StorageDType;
import dev.gdn.state.StreamMemorySerializer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gdn state inspect}: lists the streams of a savepoint or retained checkpoint with tokens
 * consumed, bytes, fingerprint and the norm of each layer's state; exports one stream's memory as
 * safetensors.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"List the stream memories in a savepoint or retained checkpoint.",
            "With --key K --export FILE, write that stream's memory as safetensors."})
public final class StateInspectCommand implements Callable<Integer> {

    @Option(names = "--savepoint", required = true, paramLabel = "DIR", description = "a savepoint or retained checkpoint, or a folder holding them (the --savepoint-dir of gdn run, or its --state-dir): the newest is read")
    Path savepoint;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the model the memories belong to")
    Path model;

    @Option(names = "--uid", defaultValue = SavepointMemories.DEFAULT_UID,
            description = "uid of the operator holding the memories (default ${DEFAULT-VALUE})")
    String uid;

    @Option(names = "--key", paramLabel = "K", description = "only this stream")
    String key;

    @Option(names = "--export", paramLabel = "FILE", description = "write the --key stream's memory as safetensors")
    Path export;

    @Option(names = "--storage", defaultValue = "FP32", description = "storage dtype the job used: FP32 or BF16")
    StorageDType storage;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (export != null && key == null) {
            throw new IllegalArgumentException("--export needs --key: one stream is exported at a time");
        }
        if (!Files.isDirectory(savepoint)) {
            throw new IllegalArgumentException("--savepoint " + savepoint + ": not a directory");
        }
        savepoint = dev.gdn.run.Snapshots.resolve(savepoint, "--savepoint");
        // the job's CPU kernels: young streams kept as their tokens are rebuilt as the job rebuilds them
        GatedDeltaNetModel m = GatedDeltaNetModel.load(model, CpuKernels.fast(
                Runtime.getRuntime().availableProcessors(), CpuKernels.DEFAULT_CHUNK_THRESHOLD));
        MemoryLayout layout = MemoryLayout.of(m.config());
        StreamMemorySerializer serializer = new StreamMemorySerializer(layout, m.fingerprint(), storage,
                ModelChangePolicy.FAIL);
        List<SavepointMemories.Entry> entries = SavepointMemories.read(savepoint.toUri().toString(), uid, serializer,
                m, key);
        if (key != null && entries.isEmpty()) {
            throw new IllegalArgumentException("--key '" + key + "': no such stream in operator '" + uid + "'");
        }
        for (SavepointMemories.Entry e : entries) {
            out.println("stream " + e.key() + " " + MemoryInspection.summary(e.memory(), layout, storage)
                    + (e.loggedTokens() >= 0 ? " (its last " + e.loggedTokens() + " tokens kept as tokens, rebuilt)" : ""));
        }
        out.println("streams: " + entries.size());
        if (export != null) {
            MemoryInspection.export(entries.get(0).memory(), layout, export);
            out.println("exported " + key + " to " + export);
        }
        out.flush();
        return 0;
    }
}
