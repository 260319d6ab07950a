package dev.rollout.trainer.reward;

/** A reward failed on a completion (or a reward service on a request); the message names the reward and what failed. */
public final class RewardException extends RuntimeException {
    public RewardException(String message, Throwable cause) {
        super(message, cause);
    }

    public RewardException(String message) {
        super(message);
    }
}
