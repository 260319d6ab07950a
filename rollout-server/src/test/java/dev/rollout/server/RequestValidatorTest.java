package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.ChatMessage;
import dev.rollout.proto.v1.Conversation;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.LogprobsMode;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.TokenIds;
import io.grpc.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestValidatorTest {
    private static final int VOCAB = 100;
    private static final int CONTEXT = 64;
    private static final int MAX_SEQUENCES = 24;
    private static final int BYTES_PER_TOKEN = 4;
    private final RequestValidator validator = new RequestValidator(VOCAB, CONTEXT, 8, MAX_SEQUENCES, BYTES_PER_TOKEN);

    private static Prompt tokens(Integer... ids) {
        return Prompt.newBuilder().setTokenIds(TokenIds.newBuilder().addAllIds(List.of(ids))).build();
    }

    private static SamplingParams.Builder sampling() {
        return SamplingParams.newBuilder().setMaxTokens(4);
    }

    private static GenerateBatchRequest request(Prompt prompt, SamplingParams.Builder sampling) {
        return GenerateBatchRequest.newBuilder().addPrompts(prompt).setSampling(sampling).build();
    }

    private Status check(SamplingParams.Builder sampling) {
        return validator.validate(request(tokens(1, 2, 3), sampling));
    }

    private static void assertInvalid(Status status, String mentions) {
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains(mentions), "'" + status.getDescription() + "' should mention '" + mentions + "'");
    }

    @Test
    void acceptsAMinimalRequest() {
        assertTrue(check(sampling()).isOk());
    }

    @Test
    void refusesARequestWithoutPrompts() {
        assertInvalid(validator.validate(GenerateBatchRequest.newBuilder().setSampling(sampling()).build()), "no prompts");
    }

    @Test
    void refusesNegativeN() {
        assertInvalid(check(sampling().setN(-1)), "sampling.n");
    }

    @Test
    void refusesNAboveTheServersLimit() {
        assertInvalid(check(sampling().setN(9)), "--max-n");
        assertTrue(check(sampling().setN(8)).isOk());
    }

    @Test
    void refusesMissingOrNonPositiveMaxTokens() {
        assertInvalid(validator.validate(GenerateBatchRequest.newBuilder().addPrompts(tokens(1)).build()), "max_tokens");
        assertInvalid(check(sampling().setMaxTokens(-5)), "max_tokens");
    }

    @Test
    void refusesNanNegativeOrInfiniteTemperature() {
        assertInvalid(check(sampling().setTemperature(Float.NaN)), "temperature");
        assertInvalid(check(sampling().setTemperature(-0.1f)), "temperature");
        assertInvalid(check(sampling().setTemperature(Float.POSITIVE_INFINITY)), "temperature");
        assertTrue(check(sampling().setTemperature(0f)).isOk());
    }

    @Test
    void refusesTopPOutsideZeroExclusiveToOne() {
        assertInvalid(check(sampling().setTopP(0f)), "top_p");
        assertInvalid(check(sampling().setTopP(1.01f)), "top_p");
        assertInvalid(check(sampling().setTopP(Float.NaN)), "top_p");
        assertTrue(check(sampling().setTopP(1f)).isOk());
    }

    @Test
    void refusesNegativeTopK() {
        assertInvalid(check(sampling().setTopK(-1)), "top_k");
    }

    @Test
    void refusesMinPOutsideZeroToOne() {
        assertInvalid(check(sampling().setMinP(-0.01f)), "min_p");
        assertInvalid(check(sampling().setMinP(1.5f)), "min_p");
        assertInvalid(check(sampling().setMinP(Float.NaN)), "min_p");
    }

    @Test
    void refusesStopTokensOutsideTheVocabulary() {
        assertInvalid(check(sampling().addStopTokenIds(VOCAB)), "stop_token_ids");
    }

    @Test
    void refusesAnUnknownLogprobsMode() {
        assertInvalid(check(sampling().setLogprobsModeValue(7)), "logprobs_mode");
        assertTrue(check(sampling().setLogprobsMode(LogprobsMode.LOGPROBS_MODE_RAW)).isOk());
    }

    @Test
    void refusesAPromptWithNoInput() {
        assertInvalid(validator.validate(request(Prompt.getDefaultInstance(), sampling())), "prompts[0] is empty");
    }

    @Test
    void refusesEmptyTextAndEmptyTokenIds() {
        assertInvalid(validator.validate(request(Prompt.newBuilder().setText("").build(), sampling())), "text is empty");
        assertInvalid(validator.validate(request(tokens(), sampling())), "token_ids is empty");
    }

    @Test
    void refusesTokenIdsOutsideTheVocabularyNamingThePosition() {
        assertInvalid(validator.validate(request(tokens(1, VOCAB, 2), sampling())), "token_ids[1] = 100");
        assertInvalid(validator.validate(request(tokens(-3), sampling())), "-3");
    }

    @Test
    void refusesConversationsWithoutMessagesOrWithUnknownRoles() {
        Prompt empty = Prompt.newBuilder().setConversation(Conversation.getDefaultInstance()).build();
        assertInvalid(validator.validate(request(empty, sampling())), "no messages");
        Prompt typo = Prompt.newBuilder().setConversation(Conversation.newBuilder()
                .addMessages(ChatMessage.newBuilder().setRole("user").setContent("hi"))
                .addMessages(ChatMessage.newBuilder().setRole("assistent").setContent("hello"))).build();
        assertInvalid(validator.validate(request(typo, sampling())), "messages[1].role 'assistent'");
    }

    @Test
    void refusesANegativeMinWeightVersion() {
        assertInvalid(validator.validate(request(tokens(1), sampling()).toBuilder().setMinWeightVersion(-1).build()), "min_weight_version");
    }

    @Test
    void refusesAPromptThatWithMaxTokensExceedsTheContext() {
        assertTrue(validator.validateEncoded(0, new int[60], 4).isOk());
        assertInvalid(validator.validateEncoded(2, new int[60], 5), "prompts[2] has 60 tokens; with max_tokens 5 that is 65");
    }

    @Test
    void refusesEncodedTokensOutsideTheVocabulary() {
        assertInvalid(validator.validateEncoded(0, new int[] {5, 200}, 1), "outside the model's vocabulary");
    }

    @Test
    void mapsUnsetSamplingFieldsToTheContractDefaults() {
        var params = ProtoMapping.toEngine(SamplingParams.newBuilder().setMaxTokens(7).build());
        assertEquals(1, params.n());
        assertEquals(7, params.maxTokens());
        assertEquals(1.0f, params.temperature());
        assertEquals(1.0f, params.topP());
        assertEquals(0, params.topK());
        assertEquals(0f, params.minP());
        assertNull(params.seed());
        assertEquals(dev.rollout.engine.SamplingParams.LogprobsMode.PROCESSED, params.logprobsMode());
    }

    @Test
    void mapsSetSamplingFieldsAsSent() {
        var params = ProtoMapping.toEngine(SamplingParams.newBuilder().setN(3).setMaxTokens(2).setTemperature(0f).setTopP(0.5f)
                .setTopK(10).setMinP(0.1f).setSeed(42).addStopTokenIds(9).setIgnoreEos(true)
                .setLogprobsMode(LogprobsMode.LOGPROBS_MODE_RAW).build());
        assertEquals(3, params.n());
        assertEquals(0f, params.temperature());
        assertEquals(0.5f, params.topP());
        assertEquals(10, params.topK());
        assertEquals(0.1f, params.minP());
        assertEquals(42L, params.seed());
        assertEquals(9, params.stopTokenIds()[0]);
        assertTrue(params.ignoreEos());
        assertEquals(dev.rollout.engine.SamplingParams.LogprobsMode.RAW, params.logprobsMode());
    }

    private static GenerateBatchRequest prompts(int count, int n) {
        GenerateBatchRequest.Builder b = GenerateBatchRequest.newBuilder().setSampling(sampling().setN(n));
        for (int i = 0; i < count; i++) {
            b.addPrompts(tokens(1, 2));
        }
        return b.build();
    }

    @Test
    void acceptsPromptsTimesNUpToTheServersSequenceLimit() {
        assertTrue(validator.validate(prompts(3, 8)).isOk());
        assertTrue(validator.validate(prompts(MAX_SEQUENCES, 0)).isOk());
    }

    @Test
    void refusesPromptsTimesNAboveTheServersSequenceLimit() {
        assertInvalid(validator.validate(prompts(4, 7)), "28 sequences, more than this server's --max-request-sequences (24)");
        assertInvalid(validator.validate(prompts(MAX_SEQUENCES + 1, 1)), "--max-request-sequences");
    }

    @Test
    void refusesTokenIdsThatCannotFitTheContextBeforeTokenizing() {
        Integer[] ids = new Integer[CONTEXT - 3];
        java.util.Arrays.fill(ids, 1);
        assertInvalid(validator.validate(request(tokens(ids), sampling())), "beyond the model's context of 64 tokens");
    }

    @Test
    void refusesTextLongerThanTheContextCanHoldWhateverItsTokens() {
        // 64 - 4 = 60 tokens of room, at most 4 bytes each: 240 bytes may fit, 241 cannot.
        Prompt fits = Prompt.newBuilder().setText("x".repeat(240)).build();
        Prompt tooLong = Prompt.newBuilder().setText("x".repeat(241)).build();
        assertTrue(validator.validate(request(fits, sampling())).isOk());
        assertInvalid(validator.validate(request(tooLong, sampling())), "241 bytes of text, at least 61 tokens");
    }

    @Test
    void refusesAConversationWhoseContentsAreLongerThanTheContextCanHold() {
        Conversation.Builder c = Conversation.newBuilder();
        for (int i = 0; i < 3; i++) {
            c.addMessages(ChatMessage.newBuilder().setRole("user").setContent("y".repeat(100)));
        }
        assertInvalid(validator.validate(request(Prompt.newBuilder().setConversation(c).build(), sampling())), "300 bytes of text");
    }

    @Test
    void withoutABoundTextIsLeftToTheTokenizer() {
        RequestValidator unbounded = new RequestValidator(VOCAB, CONTEXT, 8, MAX_SEQUENCES, 0);
        assertTrue(unbounded.validate(request(Prompt.newBuilder().setText("x".repeat(10_000)).build(), sampling())).isOk());
    }
}
