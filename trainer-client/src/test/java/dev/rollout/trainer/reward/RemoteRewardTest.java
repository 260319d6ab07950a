package dev.rollout.trainer.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rollout.trainer.config.ConfigException;
import dev.rollout.trainer.config.RewardErrors;
import dev.rollout.trainer.config.TrainerConfig;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** reward_funcs entries that are URLs: what goes out, what must come back, retries, limits and failures. */
@Timeout(120) // a hang in a request is a failure, not a stuck build
class RemoteRewardTest {
    @TempDir
    Path tmp;

    /** A reward service client with the config's remote_rewards settings, quick retries unless overridden. */
    private static RemoteReward reward(String url, String... overrides) {
        List<String> all = new ArrayList<>(List.of("remote_rewards.retry_backoff_seconds=0.01"));
        all.addAll(List.of(overrides));
        return RemoteReward.fromConfig(url, "svc", TrainerConfig.defaults(all));
    }

    private static List<ScoredCompletion> completions(int n) {
        List<ScoredCompletion> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new ScoredCompletion("p" + i, Integer.toString(i), new int[] {i, i + 1}, Map.of()));
        }
        return out;
    }

    /** Each completion's text is its index; the service answers it as the reward. */
    private static FakeRewardService.Answer echoIndices(FakeRewardService.Received r, int index) {
        List<Object> values = new ArrayList<>();
        r.body().get("completions").forEach(c -> values.add(Double.parseDouble(c.asText())));
        return FakeRewardService.rewards(values.toArray());
    }

    @Test
    void oneRequestCarriesEveryArgumentAndEveryDatasetColumnAsAList() throws Exception {
        try (FakeRewardService service = new FakeRewardService((r, i) -> FakeRewardService.rewards(1.0, null))) {
            List<ScoredCompletion> batch = List.of(
                    new ScoredCompletion("2+3=", "5", new int[] {17, 2}, Map.of("answer", "5", "level", 1)),
                    new ScoredCompletion("4+4=", "9", new int[] {21}, Map.of("answer", "8")));
            BatchReward.Scores scores = reward(service.url()).score(batch, RewardErrors.RAISE);

            assertArrayEquals(new double[] {1.0, Double.NaN}, scores.values(), "null is NaN: not judged");
            assertEquals(1, service.received.size());
            JsonNode body = service.received.get(0).body();
            assertEquals("[\"2+3=\",\"4+4=\"]", body.get("prompts").toString());
            assertEquals("[\"5\",\"9\"]", body.get("completions").toString());
            assertEquals("[[17,2],[21]]", body.get("completion_ids").toString());
            assertEquals("[\"5\",\"8\"]", body.get("answer").toString());
            assertEquals("[1,null]", body.get("level").toString(), "a row without the column gives null");
            assertEquals(5, body.size());
            assertNull(service.received.get(0).authorization());
        }
    }

    @Test
    void theBatchIsSplitIntoRequestsOfBatchSizeAndTheRewardsKeepTheirOrder() throws Exception {
        try (FakeRewardService service = new FakeRewardService(RemoteRewardTest::echoIndices)) {
            BatchReward.Scores scores = reward(service.url(), "remote_rewards.batch_size=2").score(completions(5), RewardErrors.RAISE);
            assertArrayEquals(new double[] {0, 1, 2, 3, 4}, scores.values());
            List<Integer> sizes = service.received.stream().map(r -> r.body().get("completions").size()).sorted().toList();
            assertEquals(List.of(1, 2, 2), sizes);
        }
    }

    @Test
    void requestsGoOutConcurrentlyUpToMaxConcurrency() throws Exception {
        CyclicBarrier bothInFlight = new CyclicBarrier(2);
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        try (FakeRewardService service = new FakeRewardService((r, i) -> {
            most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                bothInFlight.await(30, TimeUnit.SECONDS); // only returns once two requests are in flight together
                return echoIndices(r, i);
            } finally {
                inFlight.decrementAndGet();
            }
        })) {
            BatchReward.Scores scores = reward(service.url(), "remote_rewards.batch_size=1", "remote_rewards.max_concurrency=2",
                    "remote_rewards.max_attempts=1").score(completions(6), RewardErrors.RAISE);
            assertArrayEquals(new double[] {0, 1, 2, 3, 4, 5}, scores.values());
            assertEquals(2, most.get(), "requests in flight at once");
        }
    }

    @Test
    void aWrongNumberOfRewardsIsAnErrorNamingTheUrlAndWhatCameBack() throws Exception {
        try (FakeRewardService service = new FakeRewardService((r, i) -> FakeRewardService.rewards(1.0))) {
            RewardException e = assertThrows(RewardException.class,
                    () -> reward(service.url()).score(completions(3), RewardErrors.RAISE));
            assertTrue(e.getMessage().contains(service.url()) && e.getMessage().contains("1 rewards for 3 completions")
                    && e.getMessage().contains("{\"rewards\":[1.0]}"), e.getMessage());
            assertEquals(1, service.received.size(), "a wrong answer is not retried");
        }
    }

    @Test
    void aRewardThatIsNotANumberIsAnErrorNamingItsIndex() throws Exception {
        try (FakeRewardService service = new FakeRewardService((r, i) -> FakeRewardService.rewards(1.0, "high"))) {
            RewardException e = assertThrows(RewardException.class,
                    () -> reward(service.url()).score(completions(2), RewardErrors.RAISE));
            assertTrue(e.getMessage().contains("rewards[1] = \"high\""), e.getMessage());
        }
    }

    @Test
    void anAnswerThatIsNotJsonIsAnErrorShowingIt() throws Exception {
        try (FakeRewardService service = new FakeRewardService((r, i) -> new FakeRewardService.Answer(200, "<html>oops</html>"))) {
            RewardException e = assertThrows(RewardException.class,
                    () -> reward(service.url()).score(completions(1), RewardErrors.RAISE));
            assertTrue(e.getMessage().contains("not JSON") && e.getMessage().contains("<html>oops</html>"), e.getMessage());
        }
    }

    @Test
    void aServerErrorIsRetriedUntilItSucceeds() throws Exception {
        try (FakeRewardService service = new FakeRewardService((r, i) ->
                i < 2 ? new FakeRewardService.Answer(503, "busy") : echoIndices(r, i))) {
            BatchReward.Scores scores = reward(service.url(), "remote_rewards.max_attempts=3").score(completions(2), RewardErrors.RAISE);
            assertArrayEquals(new double[] {0, 1}, scores.values());
            assertEquals(3, service.received.size());
        }
    }

    @Test
    void aServerErrorOnEveryAttemptIsAnErrorWithTheLastAnswer() throws Exception {
        try (FakeRewardService service = new FakeRewardService((r, i) -> new FakeRewardService.Answer(500, "model not loaded"))) {
            RewardException e = assertThrows(RewardException.class,
                    () -> reward(service.url(), "remote_rewards.max_attempts=2").score(completions(1), RewardErrors.RAISE));
            assertTrue(e.getMessage().contains("HTTP 500: model not loaded") && e.getMessage().contains("after 2 attempts"),
                    e.getMessage());
            assertEquals(2, service.received.size());
        }
    }

    @Test
    void aRefusedRequestIsNotRetried() throws Exception {
        try (FakeRewardService service = new FakeRewardService((r, i) -> new FakeRewardService.Answer(400, "missing column 'answer'"))) {
            RewardException e = assertThrows(RewardException.class,
                    () -> reward(service.url(), "remote_rewards.max_attempts=3").score(completions(1), RewardErrors.RAISE));
            assertTrue(e.getMessage().contains("HTTP 400: missing column 'answer'"), e.getMessage());
            assertEquals(1, service.received.size());
        }
    }

    @Test
    void aServiceThatDoesNotAnswerInTimeIsAnError() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (FakeRewardService service = new FakeRewardService((r, i) -> {
            release.await(60, TimeUnit.SECONDS);
            return echoIndices(r, i);
        })) {
            RewardException e = assertThrows(RewardException.class, () -> reward(service.url(),
                    "remote_rewards.timeout_seconds=0.2", "remote_rewards.max_attempts=2").score(completions(1), RewardErrors.RAISE));
            assertTrue(e.getMessage().contains("did not answer within 0.2 s") && e.getMessage().contains("after 2 attempts"),
                    e.getMessage());
        } finally {
            release.countDown();
        }
    }

    @Test
    void anUnreachableServiceIsAnErrorNamingTheUrl() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String url = "http://127.0.0.1:" + port + "/score";
        RewardException e = assertThrows(RewardException.class,
                () -> reward(url, "remote_rewards.max_attempts=2").score(completions(1), RewardErrors.RAISE));
        assertTrue(e.getMessage().contains(url) && e.getMessage().contains("cannot be reached"), e.getMessage());
    }

    @Test
    void theBearerTokenFromTheFileIsSent() throws Exception {
        Path token = Files.writeString(tmp.resolve("token"), "s3cret\n");
        try (FakeRewardService service = new FakeRewardService(RemoteRewardTest::echoIndices)) {
            reward(service.url(), "remote_rewards.auth_token_file=" + token).score(completions(1), RewardErrors.RAISE);
            assertEquals("Bearer s3cret", service.received.get(0).authorization());
        }
    }

    @Test
    void anEmptyTokenFileIsAConfigError() throws Exception {
        Path token = Files.writeString(tmp.resolve("token"), "\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> reward("http://127.0.0.1:1/score", "remote_rewards.auth_token_file=" + token));
        assertEquals("remote_rewards.auth_token_file", e.key());
    }

    @Test
    void withRewardErrorsNanAFailedRequestScoresItsCompletionsNaNAndCountsThem() throws Exception {
        try (FakeRewardService service = new FakeRewardService((r, i) -> r.body().get("completions").get(0).asText().equals("2")
                ? new FakeRewardService.Answer(400, "no") : echoIndices(r, i))) {
            BatchReward.Scores scores = reward(service.url(), "remote_rewards.batch_size=2").score(completions(5), RewardErrors.NAN);
            assertArrayEquals(new double[] {0, 1, Double.NaN, Double.NaN, 4}, scores.values());
            assertEquals(2, scores.errors());
        }
    }

    @Test
    void theMetricNameIsTheUrlsLastPathSegmentOrItsHost() {
        assertEquals("score", RemoteReward.defaultName("http://127.0.0.1:8000/score"));
        assertEquals("reward", RemoteReward.defaultName("https://verifier.internal/v1/reward/"));
        assertEquals("verifier.internal", RemoteReward.defaultName("https://verifier.internal"));
    }

    @Test
    void theSettingsAreReadFromTheRemoteRewardsSection() {
        TrainerConfig config = TrainerConfig.parse(String.join("\n",
                "remote_rewards:",
                "  timeout_seconds: 5",
                "  max_attempts: 2",
                "  retry_backoff_seconds: 0.5",
                "  batch_size: 16",
                "  max_concurrency: 8",
                ""), List.of());
        assertEquals(List.of(5.0, 2.0, 0.5, 16.0, 8.0), List.of(config.remoteRewardsTimeoutSeconds(),
                (double) config.remoteRewardsMaxAttempts(), config.remoteRewardsRetryBackoffSeconds(),
                (double) config.remoteRewardsBatchSize(), (double) config.remoteRewardsMaxConcurrency()));
    }

    @Test
    void aUrlWithoutAHostIsAConfigError() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> RewardSet.fromConfig(TrainerConfig.defaults(List.of("reward_funcs=[\"http:///score\"]"))));
        assertEquals("reward_funcs", e.key());
    }
}
