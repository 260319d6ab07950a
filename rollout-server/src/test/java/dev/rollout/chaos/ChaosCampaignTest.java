package dev.rollout.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The short version of each check of the reliability campaign, against a real server on 127.0.0.1 (the tiny model,
 * a fresh server per check so one defect does not hide behind another). Counts are small and every call has a
 * deadline, so each test takes seconds; the full campaign is {@code bin/rollout-server chaos} (docs/reliability.md).
 */
class ChaosCampaignTest {
    private ChaosTarget target;

    @BeforeEach
    void start() throws Exception {
        target = ChaosTarget.start("tiny", 1, 64, null);
    }

    @AfterEach
    void stop() throws Exception {
        target.close();
    }

    private CheckResult run(ChaosCampaign.Check check, int fuzz, int syncs, ConcurrencyCheck.Settings clients) throws Exception {
        List<CheckResult> results = ChaosCampaign.run(target,
                new ChaosCampaign.Settings(EnumSet.of(check), fuzz, 2, syncs, clients, 42), line -> {});
        assertEquals(1, results.size());
        CheckResult r = results.get(0);
        assertTrue(r.passed(), ChaosReport.markdown(target.address, results));
        return r;
    }

    private static ConcurrencyCheck.Settings noClients() {
        return new ConcurrencyCheck.Settings(1, 1, 1000, 60, 42);
    }

    @Test
    void everyValidationRuleGetsItsStatusWithAMessage() throws Exception {
        CheckResult r = run(ChaosCampaign.Check.VALIDATION, 0, 0, noClients());
        assertEquals(2L * BadRequests.of(target.info()).size() + SyncFault.values().length, r.total());
    }

    @Test
    void faultySyncsLeaveTheVersionAndTheServedWeightsUnchangedAndAValidSyncIsAcceptedAfter() throws Exception {
        long before = target.info().getWeightVersion();
        CheckResult r = run(ChaosCampaign.Check.SYNCS, 0, 12, noClients());
        assertEquals(13, r.total());
        assertEquals(before + 1, target.info().getWeightVersion(), "only the last, valid sync moved the version");
    }

    @Test
    void fuzzedRequestsToEveryRpcGetNoUnknownLeakNoBlocksAndLeaveSyncsWorking() throws Exception {
        CheckResult r = run(ChaosCampaign.Check.FUZZ, 25, 0, noClients());
        assertEquals(25L * RawRpc.Method.values().length, r.total());
        assertTrue(r.logLines() <= RawRpc.Method.values().length,
                "a few log lines for all fuzzed requests, not one per request: " + r.logLines());
    }

    @Test
    void concurrentClientsWithCancelsAndDeadlinesAreAllAnsweredWhileSyncsHappenAndFreeEveryBlock() throws Exception {
        CheckResult r = run(ChaosCampaign.Check.CLIENTS, 0, 0, new ConcurrencyCheck.Settings(6, 4, 1000, 60, 42));
        assertTrue(r.outcome("SyncWeights OK") >= 1, "a sync happened under load: " + r.outcomes());
        assertEquals(0, r.facts().get("kv_blocks_held_when_idle"));
    }
}
