package dev.gdn.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code gdn state}: commands about stream memories in savepoints and checkpoints. */
@Command(name = "state", mixinStandardHelpOptions = true,
        description = "Inspect stream memories in a savepoint or retained checkpoint.",
        subcommands = {StateInspectCommand.class})
public final class StateCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
