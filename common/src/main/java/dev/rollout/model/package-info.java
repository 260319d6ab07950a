/** The decoder-only causal language model: configuration, layers, attention contexts. */
package dev.rollout.model;
