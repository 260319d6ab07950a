package dev.rollout.chaos;

import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.SyncWeightsChunk;
import io.grpc.Status;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Faulty syncs one after another: each a valid full sync that is either corrupted ({@link SyncFault}) or cut at a
 * random message (the client cancels, half-closes early, or stalls until its deadline). After each the server must
 * serve the same version and the same weights (the probe's log-probs unchanged); after all of them a valid sync must
 * be accepted and change what is served. A sync refused ABORTED for {@link #STUCK_SECONDS} means an earlier stream
 * left the sync lock held: the check stops there.
 */
final class SyncFaultCheck {
    static final String NAME = "faulty syncs";
    static final double STUCK_SECONDS = 15;
    private static final long STALL_DEADLINE_MS = 400;

    private SyncFaultCheck() {}

    static CheckResult run(ChaosTarget target, int count, long seed) throws Exception {
        CheckResult result = new CheckResult(NAME);
        SplittableRandom random = new SplittableRandom(seed);
        ModelInfo info = target.info();
        long version = info.getWeightVersion();
        ChaosTarget.Probe served = target.probe();
        SyncFault[] faults = SyncFault.values();
        String previous = "the start";
        for (int i = 0; i < count; i++) {
            List<SyncWeightsChunk> valid = SyncStreams.full(info, version + 1, seed + i);
            int kind = random.nextInt(faults.length + 3);
            String what;
            Status status;
            if (kind < faults.length) {
                what = "corrupted: " + faults[kind].description;
                status = send(target, SyncStreams.bytes(faults[kind].apply(valid, version, random)), valid.size() + 2,
                        RawRpc.Ending.HALF_CLOSE, 60_000);
            } else {
                RawRpc.Ending ending = RawRpc.Ending.values()[kind - faults.length];
                int cut = random.nextInt(valid.size());
                what = "cut: " + ending.name().toLowerCase(java.util.Locale.ROOT) + " after " + cut + " of " + valid.size() + " messages";
                status = send(target, SyncStreams.bytes(valid), cut, ending, ending == RawRpc.Ending.STALL ? STALL_DEADLINE_MS : 60_000);
            }
            if (status == null) {
                result.fail("sync stuck: every sync refused ABORTED for " + STUCK_SECONDS + " s after " + previous
                        + "; " + (count - i) + " faulty syncs not run");
                break;
            }
            result.count("SyncWeights", status);
            if (status.isOk()) {
                result.fail("a faulty sync was accepted (" + what + ")");
            }
            long now = target.info().getWeightVersion();
            ChaosTarget.Probe probe = target.probe();
            if (now != version) {
                result.fail("the version moved from " + version + " to " + now + " after a faulty sync (" + what + ")");
            }
            if (!probe.sameWeightsAs(served)) {
                result.fail("the served weights changed after a faulty sync (" + what + ")");
            }
            if (!probe.finite() && served.finite()) {
                result.fail("the probe's log-probs turned non-finite after a faulty sync (" + what + ")");
            }
            version = now;
            served = probe;
            previous = what;
        }
        ModelInfo after = target.info();
        long before = after.getWeightVersion();
        List<byte[]> lastStream = SyncStreams.bytes(SyncStreams.full(after, before + 1, seed - 1));
        Status last = send(target, lastStream, Integer.MAX_VALUE, RawRpc.Ending.HALF_CLOSE, 60_000);
        if (last == null) {
            result.fail("a valid sync after the faulty ones was refused ABORTED for " + STUCK_SECONDS + " s: the sync lock is stuck");
        } else {
            result.count("SyncWeights (valid, last)", last);
            if (!last.isOk()) {
                result.fail("a valid sync after the faulty ones was refused: " + last.getCode() + " " + last.getDescription());
            } else if (target.info().getWeightVersion() != before + 1) {
                result.fail("a valid sync to " + (before + 1) + " was accepted but the server serves " + target.info().getWeightVersion());
            } else {
                ChaosTarget.Probe now = target.probe();
                if (!now.finite()) {
                    result.fail("a valid sync of finite weights was accepted but the probe gets non-finite log-probs: " + now);
                } else if (now.sameWeightsAs(served)) {
                    result.fail("a valid sync was accepted but the served weights did not change");
                }
            }
        }
        if (last != null && last.isOk()) {
            // A trainer whose deadline expired as the server applied its sync retries it; the contract for that
            // retry (same version, same content) is reported here, not judged: it belongs to the sync protocol's tests.
            Status repeat = send(target, lastStream, Integer.MAX_VALUE, RawRpc.Ending.HALF_CLOSE, 60_000);
            result.fact("the same valid sync sent again", repeat == null ? "ABORTED for " + STUCK_SECONDS + " s"
                    : repeat.getCode() + (repeat.getDescription() == null ? "" : ": " + repeat.getDescription()));
        }
        result.fact("faulty_syncs", count);
        result.fact("final_version", target.info().getWeightVersion());
        return result;
    }

    /**
     * Sends a stream (the first {@code count} messages, then {@code ending}); a refusal with ABORTED (the previous
     * stream's end not yet processed) is retried for up to {@link #STUCK_SECONDS}. Null when it never got past ABORTED.
     */
    static Status send(ChaosTarget target, List<byte[]> messages, int count, RawRpc.Ending ending, long deadlineMillis)
            throws Exception {
        long until = System.nanoTime() + (long) (STUCK_SECONDS * 1e9);
        int n = Math.min(count, messages.size());
        while (true) {
            Status status = RawRpc.call(target.channel, RawRpc.Method.SYNC_WEIGHTS, messages, n, ending, deadlineMillis).get();
            if (status.getCode() != Status.Code.ABORTED) {
                return status;
            }
            if (System.nanoTime() > until) {
                return null;
            }
            Thread.sleep(200);
        }
    }
}
