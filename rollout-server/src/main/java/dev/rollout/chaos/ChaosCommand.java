package dev.rollout.chaos;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rollout-server chaos}: the reliability campaign. Prints a summary table; {@code --out DIR} also writes
 * {@code chaos.json}, {@code chaos.md} and (for a server it started) {@code server.log}. Exits 0 when every check
 * passed, 1 when any failed.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Reliability campaign against a real server on loopback: byte-mutated requests to every RPC, every "
                + "validation rule, cut and corrupted weight syncs, and concurrent clients with random cancels and deadlines "
                + "while syncs happen. Outcomes are tallied by status code; UNKNOWN, a server that stops answering, leaked "
                + "KV blocks, a stuck sync, a changed version or changed weights after a refused sync, and an unanswered "
                + "request are failures (exit code 1). Without --target it starts its own server in this process on "
                + "127.0.0.1 (the server's log then goes to --out DIR/server.log, counted, not shown).")
public final class ChaosCommand implements Callable<Integer> {

    @Option(names = "--target", paramLabel = "HOST:PORT",
            description = "A running server to test; it must be on loopback. Default: start one in this process.")
    String target;

    @Option(names = "--server-log", paramLabel = "FILE",
            description = "With --target: the server's log file, whose WARN/ERROR lines written during the run are counted.")
    Path serverLog;

    @Option(names = "--target-pid", paramLabel = "PID",
            description = "With --target: the server's process id, whose RSS the concurrent-clients check samples.")
    Long targetPid;

    @Option(names = "--model", defaultValue = "tiny", paramLabel = "tiny|30m|135m|DIR",
            description = "Without --target: the model the server serves. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--num-blocks", defaultValue = "256",
            description = "Without --target: KV cache blocks of the server. Default: ${DEFAULT-VALUE}.")
    int numBlocks;

    @Option(names = "--checks", defaultValue = "validation,syncs,fuzz,clients", split = ",",
            description = "The checks to run, in this order whatever the order given. Default: ${DEFAULT-VALUE}.")
    List<String> checks;

    @Option(names = "--fuzz", defaultValue = "1000",
            description = "Byte-mutated requests per RPC (GenerateBatch, GenerateStream, GetModelInfo, ResetPrefixCache, "
                    + "SyncWeights streams). Default: ${DEFAULT-VALUE}.")
    int fuzz;

    @Option(names = "--fuzz-parallel", defaultValue = "4", description = "Fuzzed requests in flight at once. Default: ${DEFAULT-VALUE}.")
    int fuzzParallel;

    @Option(names = "--faulty-syncs", defaultValue = "100",
            description = "Corrupted or cut full syncs, one after another. Default: ${DEFAULT-VALUE}.")
    int faultySyncs;

    @Option(names = "--clients", defaultValue = "64", description = "Concurrent clients. Default: ${DEFAULT-VALUE}.")
    int clients;

    @Option(names = "--seconds", defaultValue = "60", description = "How long the concurrent clients run. Default: ${DEFAULT-VALUE}.")
    double seconds;

    @Option(names = "--sync-interval-ms", defaultValue = "2000",
            description = "A full weight sync this often while the clients run. Default: ${DEFAULT-VALUE}.")
    long syncIntervalMs;

    @Option(names = "--hang-seconds", defaultValue = "120",
            description = "A request without cancel or deadline unanswered this long counts as hung. Default: ${DEFAULT-VALUE}.")
    double hangSeconds;

    @Option(names = "--seed", defaultValue = "0",
            description = "Seed of the mutations, faults and client behaviour (and of the model's weights without --target). "
                    + "Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--out", paramLabel = "DIR", description = "Also write chaos.json, chaos.md (and server.log) here.")
    Path out;

    @Override
    public Integer call() throws Exception {
        ChaosCampaign.Settings settings = settings();
        if (target == null && (serverLog != null || targetPid != null)) {
            throw new IllegalArgumentException("--server-log and --target-pid describe a --target server");
        }
        if (out != null) {
            Files.createDirectories(out);
        }
        List<CheckResult> results;
        String address;
        try (ChaosTarget t = target != null ? ChaosTarget.connect(target, serverLog, targetPid)
                : ChaosTarget.start(model, seed, numBlocks, out == null ? null : out.resolve("server.log"))) {
            address = t.address;
            results = ChaosCampaign.run(t, settings, line -> System.out.println("chaos: " + line));
        }
        String report = ChaosReport.markdown(address, results);
        System.out.println();
        System.out.println(report);
        if (out != null) {
            Files.writeString(out.resolve("chaos.md"), report);
            ChaosReport.writeJson(address, results, out.resolve("chaos.json"));
            System.out.println("wrote " + out.resolve("chaos.json") + " and chaos.md");
        }
        return ChaosReport.passed(results) ? 0 : 1;
    }

    ChaosCampaign.Settings settings() {
        positive("--fuzz-parallel", fuzzParallel);
        positive("--clients", clients);
        positive("--num-blocks", numBlocks);
        if (fuzz < 0 || faultySyncs < 0 || !(seconds > 0) || syncIntervalMs <= 0 || !(hangSeconds > 0)) {
            throw new IllegalArgumentException("--fuzz and --faulty-syncs must be >= 0; --seconds, --sync-interval-ms and "
                    + "--hang-seconds > 0");
        }
        return new ChaosCampaign.Settings(ChaosCampaign.Check.parse(checks), fuzz, fuzzParallel, faultySyncs,
                new ConcurrencyCheck.Settings(clients, seconds, syncIntervalMs, hangSeconds, seed), seed);
    }

    private static void positive(String flag, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(flag + " must be > 0, got " + value);
        }
    }
}
