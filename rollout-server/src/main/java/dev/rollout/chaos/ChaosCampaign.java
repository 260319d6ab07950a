package dev.rollout.chaos;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Runs the chosen checks against one target in a fixed order (validation, faulty syncs, fuzz, concurrent clients),
 * timing each and counting the server's WARN/ERROR log lines it caused. A server that stops answering fails the check
 * that stopped it, and the checks after it are reported as not run.
 */
final class ChaosCampaign {
    /** The checks, by the name {@code --checks} takes. */
    enum Check {
        VALIDATION, SYNCS, FUZZ, CLIENTS;

        static Set<Check> parse(List<String> names) {
            Set<Check> out = EnumSet.noneOf(Check.class);
            for (String n : names) {
                try {
                    out.add(valueOf(n.trim().toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--checks: unknown check '" + n + "' (use validation, syncs, fuzz, clients)");
                }
            }
            return out;
        }
    }

    /** Counts and times of one campaign. */
    record Settings(Set<Check> checks, int fuzzPerRpc, int fuzzParallel, int faultySyncs, ConcurrencyCheck.Settings clients, long seed) {}

    private ChaosCampaign() {}

    static List<CheckResult> run(ChaosTarget target, Settings s, Consumer<String> progress) throws Exception {
        List<CheckResult> results = new ArrayList<>();
        boolean up = true;
        for (Check check : Check.values()) {
            if (!s.checks().contains(check)) {
                continue;
            }
            if (!up) {
                CheckResult skipped = new CheckResult(check.name().toLowerCase(Locale.ROOT));
                skipped.fail("not run: the server had stopped answering");
                results.add(skipped);
                continue;
            }
            progress.accept("running " + check.name().toLowerCase(Locale.ROOT) + " against " + target.address);
            long logBefore = target.log.warnOrErrorLines();
            long start = System.nanoTime();
            CheckResult r;
            try {
                r = switch (check) {
                    case VALIDATION -> ValidationCheck.run(target, s.seed());
                    case SYNCS -> SyncFaultCheck.run(target, s.faultySyncs(), s.seed());
                    case FUZZ -> FuzzCheck.run(target, s.fuzzPerRpc(), s.fuzzParallel(), s.seed(), progress);
                    case CLIENTS -> ConcurrencyCheck.run(target, s.clients(), progress);
                };
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                // The check's own calls failed in a way it did not expect (typically: the server went away).
                r = new CheckResult(check.name().toLowerCase(Locale.ROOT));
                r.fail("the check could not complete: " + e);
            }
            long logAfter = target.log.warnOrErrorLines();
            r.finish((System.nanoTime() - start) / 1e9, logBefore < 0 ? -1 : logAfter - logBefore);
            if (!target.alive()) {
                r.fail("the server stopped answering during this check");
                up = false;
            }
            results.add(r);
            progress.accept(String.format("%s: %s in %.1f s (%d calls, %d failures)", r.name, r.passed() ? "passed" : "FAILED",
                    r.seconds(), r.total(), r.failureCount()));
        }
        return results;
    }
}
