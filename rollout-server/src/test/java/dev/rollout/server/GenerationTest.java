package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.Conversation;
import dev.rollout.proto.v1.FinishReason;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.ResetPrefixCacheRequest;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.tokenizer.ChatMessage;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** GenerateBatch, GenerateStream and the informational RPCs, from a Java client over loopback. */
class GenerationTest {
    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private int freeBlocks() {
        return server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getKvCache().getFreeBlocks();
    }

    /** The engine frees a cancelled request's blocks on its next step: wait for that, bounded. */
    private void awaitAllBlocksFree() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (freeBlocks() != TestServer.NUM_BLOCKS && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(TestServer.NUM_BLOCKS, freeBlocks());
    }

    @Test
    void generatesNCompletionsPerPromptWithOneLogprobPerToken() {
        GenerateBatchRequest request = GenerateBatchRequest.newBuilder()
                .addPrompts(TestServer.tokens(3, 4, 5))
                .addPrompts(TestServer.tokens(10, 11))
                .setSampling(SamplingParams.newBuilder().setN(3).setMaxTokens(6).setSeed(7).setIgnoreEos(true))
                .build();
        GenerateBatchResponse response = server.blocking().generateBatch(request);
        assertEquals(6, response.getCompletionsCount());
        for (int i = 0; i < 6; i++) {
            Completion c = response.getCompletions(i);
            assertEquals(i / 3, c.getPromptIndex());
            assertEquals(i % 3, c.getSampleIndex());
            assertEquals(c.getPromptIndex() == 0 ? List.of(3, 4, 5) : List.of(10, 11), c.getPromptTokenIdsList());
            assertEquals(6, c.getTokenIdsCount());
            assertEquals(6, c.getLogprobsCount());
            c.getLogprobsList().forEach(lp -> assertTrue(lp <= 0 && Float.isFinite(lp), "log-prob " + lp));
            assertEquals(FinishReason.FINISH_REASON_LENGTH, c.getFinishReason());
            assertEquals(0, c.getWeightVersion());
            assertEquals(server.tokenizer.decode(c.getTokenIdsList().stream().mapToInt(Integer::intValue).toArray(), true), c.getText());
        }
        assertEquals(5, response.getUsage().getPromptTokens());
        assertEquals(36, response.getUsage().getCompletionTokens());
    }

    @Test
    void streamsEveryCompletionAndThenCompletes() {
        Iterator<Completion> stream = server.blocking().generateStream(GenerateBatchRequest.newBuilder()
                .addPrompts(TestServer.tokens(3, 4)).addPrompts(TestServer.tokens(8))
                .setSampling(SamplingParams.newBuilder().setN(2).setMaxTokens(4).setIgnoreEos(true)).build());
        List<String> seen = new ArrayList<>();
        stream.forEachRemaining(c -> seen.add(c.getPromptIndex() + "/" + c.getSampleIndex() + ":" + c.getTokenIdsCount()));
        Collections.sort(seen);
        assertEquals(List.of("0/0:4", "0/1:4", "1/0:4", "1/1:4"), seen);
    }

    @Test
    void streamsACompletionAsSoonAsItFinishesWhileOthersStillRun() {
        Prompt shortOne = TestServer.tokens(5, 6);
        Prompt longOne = TestServer.tokens(30, 31, 32);
        int stop = server.blocking().generateBatch(TestServer.greedy(1, shortOne)).getCompletions(0).getTokenIds(0);
        List<Integer> longTokens = server.blocking().generateBatch(TestServer.greedy(150, longOne)).getCompletions(0).getTokenIdsList();
        assertTrue(!longTokens.contains(stop), "the long prompt's greedy continuation must not contain the stop token " + stop);
        // Once only the long completion runs, the engine waits until the short one has been received, so that a
        // loaded machine cannot finish the long one first.
        CountDownLatch shortReceived = new CountDownLatch(1);
        server.engine.afterEachStep(() -> {
            if (server.engine.runningSequences() == 1) {
                awaitQuietly(shortReceived);
            }
        });
        Iterator<Completion> stream = server.blocking().generateStream(GenerateBatchRequest.newBuilder()
                .addPrompts(longOne).addPrompts(shortOne)
                .setSampling(SamplingParams.newBuilder().setMaxTokens(150).setTemperature(0f).setIgnoreEos(true).addStopTokenIds(stop)).build());
        Completion first;
        try {
            first = stream.next();
            assertTrue(freeBlocks() < TestServer.NUM_BLOCKS, "the long completion is still generating when the short one arrives");
        } finally {
            shortReceived.countDown();
            server.engine.afterEachStep(() -> {});
        }
        assertEquals(1, first.getPromptIndex());
        assertEquals(List.of(stop), first.getTokenIdsList());
        assertEquals(FinishReason.FINISH_REASON_STOP, first.getFinishReason());
        Completion second = stream.next();
        assertEquals(longTokens, second.getTokenIdsList());
        assertTrue(!stream.hasNext());
    }

    @Test
    void tokenizesTextPromptsWithTheModelsTokenizer() {
        Prompt text = Prompt.newBuilder().setText("hello world").build();
        Completion c = server.blocking().generateBatch(TestServer.greedy(2, text)).getCompletions(0);
        assertArrayEquals(server.tokenizer.encode("hello world"), c.getPromptTokenIdsList().stream().mapToInt(Integer::intValue).toArray());
    }

    @Test
    void appliesTheChatTemplateToConversations() {
        Prompt chat = Prompt.newBuilder().setConversation(Conversation.newBuilder()
                .addMessages(dev.rollout.proto.v1.ChatMessage.newBuilder().setRole("system").setContent("be brief"))
                .addMessages(dev.rollout.proto.v1.ChatMessage.newBuilder().setRole("user").setContent("2+2?"))).build();
        Completion c = server.blocking().generateBatch(TestServer.greedy(2, chat)).getCompletions(0);
        String rendered = server.tokenizer.chatTemplate().orElseThrow().render(List.of(new ChatMessage("system", "be brief"),
                new ChatMessage("user", "2+2?")), true);
        assertTrue(rendered.endsWith("<|im_start|>assistant\n"), rendered);
        assertArrayEquals(server.tokenizer.encode(rendered, false), c.getPromptTokenIdsList().stream().mapToInt(Integer::intValue).toArray());
    }

    @Test
    void greedyCompletionsAreRepeatable() {
        GenerateBatchRequest request = TestServer.greedy(10, TestServer.tokens(20, 21, 22));
        assertEquals(server.blocking().generateBatch(request).getCompletions(0).getTokenIdsList(),
                server.blocking().generateBatch(request).getCompletions(0).getTokenIdsList());
    }

    @Test
    void refusesAMinWeightVersionAboveTheServingOne() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> server.blocking().generateBatch(
                TestServer.greedy(2, TestServer.tokens(1)).toBuilder().setMinWeightVersion(1).build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("serves version 0"));
    }

    @Test
    void aCancelledStreamAbortsItsSequencesAndFreesTheirBlocks() throws Exception {
        Context.CancellableContext context = Context.current().withCancellation();
        CompletableFuture<Throwable> ended = new CompletableFuture<>();
        context.run(() -> server.async().generateStream(TestServer.greedy(100, TestServer.tokens(5, 6, 7)).toBuilder()
                .setSampling(SamplingParams.newBuilder().setN(4).setMaxTokens(100).setIgnoreEos(true)).build(), new StreamObserver<>() {
                    @Override
                    public void onNext(Completion value) {}

                    @Override
                    public void onError(Throwable t) {
                        ended.complete(t);
                    }

                    @Override
                    public void onCompleted() {
                        ended.complete(null);
                    }
                }));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (freeBlocks() == TestServer.NUM_BLOCKS && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertTrue(freeBlocks() < TestServer.NUM_BLOCKS, "the request should hold KV blocks while it runs");
        context.cancel(null);
        assertEquals(Status.Code.CANCELLED, Status.fromThrowable(ended.get(30, TimeUnit.SECONDS)).getCode());
        awaitAllBlocksFree();
    }

    @Test
    void aPassedDeadlineAbortsTheRequestAndFreesItsBlocks() throws Exception {
        RolloutServiceGrpc.RolloutServiceBlockingStub impatient = RolloutServiceGrpc.newBlockingStub(server.channel)
                .withDeadlineAfter(50, TimeUnit.MILLISECONDS);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> impatient.generateBatch(GenerateBatchRequest.newBuilder()
                .addPrompts(TestServer.tokens(5, 6, 7))
                .setSampling(SamplingParams.newBuilder().setN(4).setMaxTokens(120).setIgnoreEos(true)).build()));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
        awaitAllBlocksFree();
    }

    @Test
    void refusesRequestsBeyondTheQueueBoundWithResourceExhausted() throws Exception {
        server.close();
        server = TestServer.start(ServerOptions.defaults(0).withMaxQueuedRequests(1));
        Context.CancellableContext context = Context.current().withCancellation();
        CompletableFuture<Completion> first = new CompletableFuture<>();
        context.run(() -> server.async().generateStream(TestServer.greedy(120, TestServer.tokens(5)), WeightSyncTest.observerOf(first)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (freeBlocks() == TestServer.NUM_BLOCKS && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> server.blocking().generateBatch(TestServer.greedy(2, TestServer.tokens(5))));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("--max-queued-requests"));
        context.cancel(null);
        awaitAllBlocksFree();
        // the cancelled request gave its place back
        long retryUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                assertEquals(1, server.blocking().generateBatch(TestServer.greedy(2, TestServer.tokens(5))).getCompletionsCount());
                break;
            } catch (StatusRuntimeException busy) {
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, busy.getStatus().getCode());
                assertTrue(System.nanoTime() < retryUntil, "the place was never given back");
                Thread.sleep(10);
            }
        }
    }

    @Test
    void describesTheModelItsTensorsAndItsCache() {
        ModelInfo info = server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance());
        assertEquals("tiny-seed1", info.getModelId());
        assertEquals("LlamaForCausalLM", info.getArchitecture());
        assertEquals(512, info.getVocabSize());
        assertEquals(1024, info.getMaxContextLength());
        assertEquals(server.config.eosTokenIds(), info.getEosTokenIdsList());
        assertEquals(TestServer.NUM_BLOCKS, info.getKvCache().getNumBlocks());
        assertEquals(16, info.getKvCache().getBlockSize());
        assertEquals(256, info.getMaxN());
        assertEquals(TestServer.randomWeights(server.config, 1).size(), info.getTensorsCount());
        assertEquals("model.embed_tokens.weight", info.getTensors(0).getName());
        assertEquals(List.of(512L, 128L), info.getTensors(0).getShapeList());
        assertEquals(dev.rollout.proto.v1.DType.DTYPE_FLOAT32, info.getTensors(0).getDtype());
    }

    @Test
    void resetsThePrefixCache() {
        server.blocking().generateBatch(TestServer.greedy(2, TestServer.tokens(new int[40])));
        assertTrue(server.blocking().resetPrefixCache(ResetPrefixCacheRequest.getDefaultInstance()).getBlocksFreed() >= 0);
        assertEquals(TestServer.NUM_BLOCKS, freeBlocks());
    }

    @Test
    void answersTheStandardHealthCheck() {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(server.channel);
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.check(HealthCheckRequest.newBuilder()
                .setService(RolloutServiceGrpc.SERVICE_NAME).build()).getStatus());
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
