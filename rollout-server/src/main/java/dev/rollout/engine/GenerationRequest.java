package dev.rollout.engine;

import java.util.List;
import java.util.function.Consumer;

/**
 * Prompts (token ids) to complete {@code params.n()} times each. {@code onCompletion}, when not null, is called on the
 * engine thread as each completion ends; it must return quickly, since the engine does no other work meanwhile.
 */
public record GenerationRequest(String requestId, List<int[]> prompts, SamplingParams params,
                                Consumer<CompletionResult> onCompletion) {

    public GenerationRequest {
        if (prompts == null || prompts.isEmpty()) {
            throw new IllegalArgumentException("a generation request needs at least one prompt");
        }
        if (params == null) {
            throw new IllegalArgumentException("a generation request needs sampling params");
        }
        prompts = List.copyOf(prompts);
    }

    public GenerationRequest(String requestId, List<int[]> prompts, SamplingParams params) {
        this(requestId, prompts, params, null);
    }
}
