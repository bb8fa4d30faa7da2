package dev.gdn.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code gdn model}: commands about a checkpoint. */
@Command(name = "model", mixinStandardHelpOptions = true, description = "Inspect a model checkpoint.",
        subcommands = {ModelInfoCommand.class})
public final class ModelCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
