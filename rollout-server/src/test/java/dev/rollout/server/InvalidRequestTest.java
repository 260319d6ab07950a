package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.rollout.proto.v1.ChatMessage;
import dev.rollout.proto.v1.Conversation;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each invalid input of the contract, sent over gRPC, is refused with INVALID_ARGUMENT and leaves nothing behind. */
class InvalidRequestTest {
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static SamplingParams.Builder ok() {
        return SamplingParams.newBuilder().setMaxTokens(4);
    }

    private static GenerateBatchRequest with(SamplingParams.Builder sampling) {
        return GenerateBatchRequest.newBuilder().addPrompts(TestServer.tokens(3, 4)).setSampling(sampling).build();
    }

    private static GenerateBatchRequest with(Prompt prompt) {
        return GenerateBatchRequest.newBuilder().addPrompts(prompt).setSampling(ok()).build();
    }

    private static Prompt chat(String role) {
        return Prompt.newBuilder().setConversation(Conversation.newBuilder()
                .addMessages(ChatMessage.newBuilder().setRole(role).setContent("hi"))).build();
    }

    static Stream<Arguments> invalidRequests() {
        Map<String, GenerateBatchRequest> cases = new java.util.LinkedHashMap<>();
        cases.put("no prompts", GenerateBatchRequest.newBuilder().setSampling(ok()).build());
        cases.put("n < 0", with(ok().setN(-1)));
        cases.put("n above --max-n", with(ok().setN(257)));
        cases.put("max_tokens = 0", with(SamplingParams.newBuilder()));
        cases.put("max_tokens < 0", with(ok().setMaxTokens(-1)));
        cases.put("token id = vocab size", with(TestServer.tokens(3, 512)));
        cases.put("negative token id", with(TestServer.tokens(-1)));
        cases.put("prompt + max_tokens beyond the context", with(ok().setMaxTokens(1023)));
        cases.put("max_tokens alone beyond the context", with(ok().setMaxTokens(Integer.MAX_VALUE)));
        cases.put("NaN temperature", with(ok().setTemperature(Float.NaN)));
        cases.put("negative temperature", with(ok().setTemperature(-1f)));
        cases.put("top_p = 0", with(ok().setTopP(0f)));
        cases.put("top_p > 1", with(ok().setTopP(1.5f)));
        cases.put("top_k < 0", with(ok().setTopK(-2)));
        cases.put("min_p > 1", with(ok().setMinP(2f)));
        cases.put("stop token outside the vocabulary", with(ok().addStopTokenIds(1000)));
        cases.put("prompt without input", with(Prompt.getDefaultInstance()));
        cases.put("empty text", with(Prompt.newBuilder().setText("").build()));
        cases.put("empty token ids", with(TestServer.tokens()));
        cases.put("empty conversation", with(Prompt.newBuilder().setConversation(Conversation.getDefaultInstance()).build()));
        cases.put("unknown role", with(chat("wizard")));
        cases.put("negative min_weight_version", with(ok()).toBuilder().setMinWeightVersion(-4).build());
        return cases.entrySet().stream().map(e -> Arguments.of(e.getKey(), e.getValue()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidRequests")
    void generateBatchRefusesWithInvalidArgument(String what, GenerateBatchRequest request) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> server.blocking().generateBatch(request));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), what + ": " + e.getStatus());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidRequests")
    void generateStreamRefusesWithInvalidArgument(String what, GenerateBatchRequest request) {
        Iterator<?> stream = server.blocking().generateStream(request);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, stream::hasNext);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), what + ": " + e.getStatus());
    }

    @Test
    void afterABurstOfInvalidRequestsTheServerAnswersCorrectlyAndEveryBlockIsFree() {
        GenerateBatchRequest valid = TestServer.greedy(8, TestServer.tokens(5, 6, 7));
        List<Integer> before = server.blocking().generateBatch(valid).getCompletions(0).getTokenIdsList();
        List<GenerateBatchRequest> invalid = invalidRequests().map(a -> (GenerateBatchRequest) a.get()[1]).toList();
        for (int round = 0; round < 10; round++) {
            for (GenerateBatchRequest r : invalid) {
                assertThrows(StatusRuntimeException.class, () -> server.blocking().generateBatch(r));
            }
        }
        assertEquals(before, server.blocking().generateBatch(valid).getCompletions(0).getTokenIdsList());
        var cache = server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getKvCache();
        assertEquals(cache.getNumBlocks(), cache.getFreeBlocks());
    }
}
