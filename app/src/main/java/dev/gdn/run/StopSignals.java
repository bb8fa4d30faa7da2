package dev.gdn.run;


import java.util.concurrent.CompletableFuture;
import sun.misc.Signal;

/**
 * SIGINT (Ctrl-C) and SIGTERM as a request to stop gracefully: the first completes the given future
 * with the signal's name (the caller then stops the job with a savepoint and exits); a second one
 * exits at once.
 */
final class StopSignals {
    private StopSignals() {
    }

    static void install(CompletableFuture<String> stop) {
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Signal.handle(new Signal(name), s -> {
                    if (!stop.complete("SIG" + s.getName())) {
                        System.err.println("second SIG" + s.getName() + ": exiting without a savepoint; the next start "
                                + "resumes from the newest retained checkpoint");
                        Runtime.getRuntime().halt(130);
                    }
                });
            } catch (IllegalArgumentException e) {
                // this signal cannot be handled here (e.g. ignored by the parent shell): nothing to install
            }
        }
    }
}
