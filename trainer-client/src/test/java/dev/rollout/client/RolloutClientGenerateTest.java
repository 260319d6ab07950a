package dev.rollout.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RolloutClientGenerateTest {
    private FakeRolloutServer a;
    private FakeRolloutServer b;
    private RolloutClient client;

    @BeforeEach
    void start() {
        a = FakeRolloutServer.start("A");
        b = FakeRolloutServer.start("B");
        client = new RolloutClient(ClientConfig.of(List.of(a.address(), b.address())));
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        a.close();
        b.close();
    }

    private static List<Prompt> prompts(int count) {
        return IntStream.range(0, count).mapToObj(i -> Prompt.newBuilder().setText("p" + i).build()).toList();
    }

    private static SamplingParams sampling(int n) {
        return SamplingParams.newBuilder().setN(n).setMaxTokens(4).build();
    }

    @Test
    void promptsGoRoundRobinWithAllSamplesOfAPromptOnOneServer() {
        client.generate(prompts(5), sampling(3), 0);

        assertEquals(1, a.service.generateRequests.size());
        assertEquals(1, b.service.generateRequests.size());
        GenerateBatchRequest toA = a.service.generateRequests.get(0);
        GenerateBatchRequest toB = b.service.generateRequests.get(0);
        assertEquals(List.of("p0", "p2", "p4"), toA.getPromptsList().stream().map(Prompt::getText).toList());
        assertEquals(List.of("p1", "p3"), toB.getPromptsList().stream().map(Prompt::getText).toList());
        assertEquals(3, toA.getSampling().getN());
        assertEquals(3, toB.getSampling().getN());
    }

    @Test
    void completionsComeBackInGlobalPromptThenSampleOrderWithGlobalPromptIndices() {
        GenerateBatchResponse r = client.generate(prompts(5), sampling(3), 0);

        assertEquals(15, r.getCompletionsCount());
        for (int i = 0; i < 15; i++) {
            Completion c = r.getCompletions(i);
            int prompt = i / 3;
            int sample = i % 3;
            String fake = prompt % 2 == 0 ? "A" : "B";
            assertEquals(prompt, c.getPromptIndex(), "completion " + i);
            assertEquals(sample, c.getSampleIndex(), "completion " + i);
            assertEquals(FakeRolloutService.completionText(fake, "p" + prompt, sample), c.getText());
        }
    }

    @Test
    void usageIsSummedOverServers() {
        GenerateBatchResponse r = client.generate(prompts(5), sampling(2), 0);

        // each fake reports one prompt token per prompt, one completion token per completion, one cached token
        assertEquals(5, r.getUsage().getPromptTokens());
        assertEquals(10, r.getUsage().getCompletionTokens());
        assertEquals(2, r.getUsage().getCachedPromptTokens());
    }

    @Test
    void nZeroMeansOneSamplePerPrompt() {
        GenerateBatchResponse r = client.generate(prompts(3), SamplingParams.newBuilder().setMaxTokens(4).build(), 0);

        assertEquals(List.of(0, 1, 2), r.getCompletionsList().stream().map(Completion::getPromptIndex).toList());
        assertTrue(r.getCompletionsList().stream().allMatch(c -> c.getSampleIndex() == 0));
    }

    @Test
    void aServerWithoutPromptsIsNotCalled() throws Exception {
        try (FakeRolloutServer c = FakeRolloutServer.start("C");
             RolloutClient three = new RolloutClient(ClientConfig.of(List.of(a.address(), b.address(), c.address())))) {
            GenerateBatchResponse r = three.generate(prompts(2), sampling(2), 0);

            assertEquals(4, r.getCompletionsCount());
            assertEquals(0, c.service.generateRequests.size());
        }
    }

    @Test
    void minWeightVersionIsSentToEveryServer() {
        a.service.weightVersion = 7;
        b.service.weightVersion = 9;

        GenerateBatchResponse r = client.generate(prompts(2), sampling(1), 7);

        assertEquals(7, a.service.generateRequests.get(0).getMinWeightVersion());
        assertEquals(7, b.service.generateRequests.get(0).getMinWeightVersion());
        assertEquals(List.of(7L, 9L), r.getCompletionsList().stream().map(Completion::getWeightVersion).toList());
    }

    @Test
    void modelInfoComesFromTheFirstServerAndModelInfosFromAll() {
        assertEquals("A", client.modelInfo().getModelId());
        assertEquals(List.of("A", "B"), client.modelInfos().stream().map(m -> m.getModelId()).toList());
    }

    @Test
    void resetPrefixCacheResetsEveryServerAndSumsTheBlocksFreed() {
        assertEquals(6, client.resetPrefixCache());
        assertEquals(1, a.callsOf("ResetPrefixCache").size());
        assertEquals(1, b.callsOf("ResetPrefixCache").size());
    }
}
