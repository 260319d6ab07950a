package dev.rollout.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code rollout-server}: the subcommands of the rollout server. */
@Command(name = "rollout-server", mixinStandardHelpOptions = true, subcommands = {ServeCommand.class, dev.rollout.bench.BenchCommand.class, dev.rollout.chaos.ChaosCommand.class},
        description = "The Rollout generation server: paged KV cache, continuous batching, gRPC, weight sync.")
public final class Main implements Runnable {
    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, command, parsed) -> {
            // Configuration mistakes get one line a person can act on, not a stack trace.
            if (e instanceof IllegalArgumentException || e instanceof java.io.IOException) {
                command.getErr().println("rollout-server: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        System.exit(cli.execute(args));
    }
}
