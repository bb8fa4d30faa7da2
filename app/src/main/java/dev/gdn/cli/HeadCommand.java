package dev.gdn.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code gdn head}: classification heads on a stream model's memory. */
@Command(name = "head", mixinStandardHelpOptions = true,
        description = "Fit a classification head on a stream model's memory, or write the demo's labeled events.",
        subcommands = {HeadFitCommand.class, HeadDemoEventsCommand.class})
public final class HeadCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
