package dev.gdn.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code gdn}: the one command users run. */
@Command(name = "gdn", mixinStandardHelpOptions = true, versionProvider = GdnCli.Version.class,
        description = "Gated DeltaNet language models over unbounded streams on Apache Flink.",
        subcommands = {RunCommand.class, ParityCommand.class, ModelCommand.class, StateCommand.class, HeadCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class})
public final class GdnCli implements Runnable {
    /** Exit code for bad input: a missing file, wrong shapes, an unsupported config. */
    public static final int EXIT_BAD_INPUT = 2;
    /** Exit code when {@code --backend cuda} is forced where CUDA cannot work. */
    public static final int EXIT_CUDA_UNAVAILABLE = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        followLauncher(System.getenv("GDN_LAUNCHER_PID"));
        int code;
        try {
            code = execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println(outOfHeap(args, e));
            code = EXIT_BAD_INPUT;
        }
        System.exit(code);
    }

    /** The error line for an OutOfMemoryError, with advice the command at hand ({@code args[0]}) accepts. */
    public static String outOfHeap(String[] args, OutOfMemoryError e) {
        String command = args.length > 0 ? args[0] : "";
        String advice = switch (command) {
            case "run" -> ", or keep memories off the heap with --state-backend rocksdb";
            case "bench" -> ", or choose smaller --cases";
            default -> "";
        };
        return "error: out of Java heap (" + e.getMessage() + "; max heap " + (Runtime.getRuntime().maxMemory() >> 20)
                + " MiB): give the JVM more with GDN_JAVA_OPTS=-Xmx..." + advice;
    }

    /**
     * Started by the {@code gdn} launcher (process {@code launcherPid}): when the launcher is gone (killed
     * outright, so that it could not pass the signal on), this JVM stops as it does on SIGTERM, rather than
     * running on unseen. Null or unknown: nothing to follow.
     */
    static void followLauncher(String launcherPid) {
        if (launcherPid == null || !launcherPid.matches("\\d{1,18}")) {
            return;
        }
        ProcessHandle.of(Long.parseLong(launcherPid)).ifPresent(launcher -> launcher.onExit().thenRun(() -> {
            System.err.println("gdn: the launcher (process " + launcherPid + ") ended; stopping");
            System.exit(143);
        }));
    }

    /** Runs the CLI and returns its exit code. */
    public static int execute(String... args) {
        return commandLine().execute(args);
    }

    /** The configured command line: exceptions become exit code 2 with the reason on stderr. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new GdnCli());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            for (Throwable c = ex; c != null; c = c.getCause()) {
                if (c instanceof dev.gdn.kernels.cuda.CudaUnavailableException) {
                    cmd.getErr().println("CUDA unavailable: " + c.getMessage());
                    cmd.getErr().flush();
                    return EXIT_CUDA_UNAVAILABLE;
                }
            }
            cmd.getErr().println("error: " + rootMessage(ex));
            cmd.getErr().flush();
            return EXIT_BAD_INPUT;
        });
        return cl;
    }

    /** The root cause in one line (Flink wraps job failures several times). */
    static String rootMessage(Throwable t) {
        return dev.gdn.job.RootCause.line(t);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = GdnCli.class.getPackage().getImplementationVersion();
            return new String[] {"gdn " + (v == null ? "dev" : v)};
        }
    }
}
