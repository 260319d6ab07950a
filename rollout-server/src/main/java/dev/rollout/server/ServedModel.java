package dev.rollout.server;

import dev.rollout.model.CausalLM;
import dev.rollout.tokenizer.template.ChatTemplate;
import dev.rollout.tokenizer.Tokenizer;

/**
 * The model a server serves, with what it needs to speak text: tokenizer and chat template may be null for a
 * checkpoint without them (clients then send token ids).
 */
public record ServedModel(String modelId, CausalLM model, Tokenizer tokenizer, ChatTemplate chatTemplate) {}
