package dev.rollout.trainer.async;

import dev.rollout.trainer.data.PromptRow;

/**
 * A prompt as the producer gets it from the run's prompt stream.
 *
 * @param draw its number in the stream, counted from the run's first prompt (also across a resume): the group's
 *             index, which gives its sampling seed and lets a checkpoint say which prompts are not trained on yet
 */
public record DrawnPrompt(long draw, PromptRow row) {}
