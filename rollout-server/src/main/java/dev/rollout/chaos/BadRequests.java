package dev.rollout.chaos;

import dev.rollout.proto.v1.ChatMessage;
import dev.rollout.proto.v1.Conversation;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.TokenIds;
import io.grpc.Status;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Every validation rule of a generation request (design §3), each as one well-formed request that breaks it and the
 * status it must get, made to measure for the server at hand (its vocabulary, context, --max-n and weight version).
 */
final class BadRequests {
    /**
     * A rule, the request that breaks it, and the status codes the contract allows for it; {@code okIfFinite}: an OK
     * answer is allowed too, provided every completion is whole and every log-prob finite.
     */
    record Case(String rule, GenerateBatchRequest request, Set<Status.Code> expected, boolean okIfFinite) {}

    private BadRequests() {}

    static Map<String, Case> of(ModelInfo info) {
        int vocab = info.getVocabSize();
        int context = info.getMaxContextLength();
        int maxN = info.getMaxN() > 0 ? info.getMaxN() : 256;
        Map<String, Case> cases = new LinkedHashMap<>();
        invalid(cases, "no prompts", GenerateBatchRequest.newBuilder().setSampling(ok()).build());
        invalid(cases, "n < 0", with(ok().setN(-1)));
        invalid(cases, "n above the server's --max-n", with(ok().setN(maxN + 1)));
        invalid(cases, "max_tokens unset", with(SamplingParams.newBuilder()));
        invalid(cases, "max_tokens < 0", with(ok().setMaxTokens(-1)));
        invalid(cases, "token id = vocabulary size", with(tokens(3, vocab)));
        invalid(cases, "negative token id", with(tokens(-1)));
        invalid(cases, "prompt + max_tokens beyond the context", with(ok().setMaxTokens(context - 1)).toBuilder()
                .setPrompts(0, tokens(1, 2)).build());
        invalid(cases, "max_tokens alone beyond the context", with(ok().setMaxTokens(Integer.MAX_VALUE)));
        invalid(cases, "prompt alone beyond the context", with(ok()).toBuilder().setPrompts(0, longPrompt(context + 1)).build());
        invalid(cases, "NaN temperature", with(ok().setTemperature(Float.NaN)));
        invalid(cases, "infinite temperature", with(ok().setTemperature(Float.POSITIVE_INFINITY)));
        invalid(cases, "negative temperature", with(ok().setTemperature(-1f)));
        invalid(cases, "top_p = 0", with(ok().setTopP(0f)));
        invalid(cases, "top_p > 1", with(ok().setTopP(1.5f)));
        invalid(cases, "NaN top_p", with(ok().setTopP(Float.NaN)));
        invalid(cases, "top_k < 0", with(ok().setTopK(-2)));
        invalid(cases, "min_p > 1", with(ok().setMinP(2f)));
        invalid(cases, "min_p < 0", with(ok().setMinP(-0.5f)));
        invalid(cases, "NaN min_p", with(ok().setMinP(Float.NaN)));
        invalid(cases, "stop token outside the vocabulary", with(ok().addStopTokenIds(vocab)));
        invalid(cases, "negative stop token", with(ok().addStopTokenIds(-3)));
        invalid(cases, "unknown logprobs_mode", with(ok().setLogprobsModeValue(7)));
        invalid(cases, "prompt without input", with(Prompt.getDefaultInstance()));
        invalid(cases, "empty text", with(Prompt.newBuilder().setText("").build()));
        invalid(cases, "empty token ids", with(tokens()));
        invalid(cases, "empty conversation", with(Prompt.newBuilder().setConversation(Conversation.getDefaultInstance()).build()));
        invalid(cases, "unknown chat role", with(chat("wizard")));
        invalid(cases, "a bad prompt after a good one", with(ok()).toBuilder().addPrompts(tokens(vocab + 5)).build());
        invalid(cases, "negative min_weight_version", with(ok()).toBuilder().setMinWeightVersion(-4).build());
        add(cases, new Case("min_weight_version above the serving version",
                with(ok()).toBuilder().setMinWeightVersion(info.getWeightVersion() + 1_000_000).build(),
                Set.of(Status.Code.FAILED_PRECONDITION), false));
        // A temperature this small overflows logits / temperature: greedy or a refusal, never NaN log-probs.
        add(cases, new Case("temperature 1e-45", with(ok().setTemperature(1e-45f)), Set.of(Status.Code.INVALID_ARGUMENT), true));
        // Far more work than any server should take on for one request: refused before any work is done.
        add(cases, new Case("1000 prompts x n = max_n x max_tokens 256", manySequences(1000, maxN, Math.min(256, context - 8)),
                Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.RESOURCE_EXHAUSTED), false));
        return cases;
    }

    private static void invalid(Map<String, Case> cases, String rule, GenerateBatchRequest request) {
        add(cases, new Case(rule, request, Set.of(Status.Code.INVALID_ARGUMENT), false));
    }

    private static void add(Map<String, Case> cases, Case c) {
        cases.put(c.rule(), c);
    }

    private static GenerateBatchRequest manySequences(int prompts, int n, int maxTokens) {
        GenerateBatchRequest.Builder b = GenerateBatchRequest.newBuilder()
                .setSampling(SamplingParams.newBuilder().setN(n).setMaxTokens(maxTokens).setIgnoreEos(true));
        for (int i = 0; i < prompts; i++) {
            b.addPrompts(tokens(1 + i % 5, 2));
        }
        return b.build();
    }

    private static SamplingParams.Builder ok() {
        return SamplingParams.newBuilder().setMaxTokens(4);
    }

    private static GenerateBatchRequest with(SamplingParams.Builder sampling) {
        return GenerateBatchRequest.newBuilder().addPrompts(tokens(3, 4)).setSampling(sampling).build();
    }

    private static GenerateBatchRequest with(Prompt prompt) {
        return GenerateBatchRequest.newBuilder().addPrompts(prompt).setSampling(ok()).build();
    }

    static Prompt tokens(int... ids) {
        TokenIds.Builder b = TokenIds.newBuilder();
        for (int id : ids) {
            b.addIds(id);
        }
        return Prompt.newBuilder().setTokenIds(b).build();
    }

    private static Prompt longPrompt(int length) {
        TokenIds.Builder b = TokenIds.newBuilder();
        for (int i = 0; i < length; i++) {
            b.addIds(1 + i % 7);
        }
        return Prompt.newBuilder().setTokenIds(b).build();
    }

    private static Prompt chat(String role) {
        return Prompt.newBuilder().setConversation(Conversation.newBuilder()
                .addMessages(ChatMessage.newBuilder().setRole(role).setContent("hi"))).build();
    }
}
