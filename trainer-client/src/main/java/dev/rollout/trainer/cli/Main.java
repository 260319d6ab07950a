package dev.rollout.trainer.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/trainer}: {@code train} (GRPO or RLOO from a YAML config), {@code demo} (the whole system on the embedded model) and {@code bench} (sync against async, trainer in the loop). */
@Command(name = "trainer", mixinStandardHelpOptions = true, version = "Rollout trainer 0.1.0",
        description = "RL fine-tuning of language models (GRPO, RLOO) against rollout servers or a colocated engine.",
        subcommands = {TrainCommand.class, DemoCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        // a person gets the message, not a stack trace
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("error: " + describe(e));
            return 1;
        });
        return cli.execute(args);
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
