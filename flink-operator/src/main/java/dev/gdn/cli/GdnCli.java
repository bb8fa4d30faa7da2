package dev.gdn.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code gdn}: the one command users run. */
@Command(name = "gdn", mixinStandardHelpOptions = true, versionProvider = GdnCli.Version.class,
        description = "Gated DeltaNet language models over unbounded streams on Apache Flink.",
        subcommands = {ParityCommand.class, CommandLine.HelpCommand.class})
public final class GdnCli implements Runnable {
    /** Exit code for bad input: a missing file, wrong shapes, an unsupported config. */
    public static final int EXIT_BAD_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns its exit code (for tests). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new GdnCli());
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            cmd.getErr().println("error: " + ex.getMessage());
            return EXIT_BAD_INPUT;
        });
        return cl.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = GdnCli.class.getPackage().getImplementationVersion();
            return new String[] {"gdn " + (v == null ? "dev" : v)};
        }
    }
}
