package dev.rollout.engine;

/** Why a completion ended. */
public enum FinishReason {
    /** An EOS id of the model or one of the request's stop ids was sampled (it is the last token of the completion). */
    STOP,
    /** max_tokens was reached, or the model's context limit. */
    LENGTH,
    /** The request was cancelled or the engine closed before the completion ended. */
    ABORTED
}
