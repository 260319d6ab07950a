package dev.rollout.client;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.Usage;
import java.util.ArrayList;
import java.util.List;

/**
 * How one batch of prompts is spread over several servers and how their answers are put back together.
 * Prompts go round robin, prompt by prompt, so every server gets an even share; all n samples of a prompt stay on
 * the server that has the prompt, where they share its cached prefix blocks. Each server numbers its prompts from 0;
 * reassembly maps them back to the global index and orders completions by (prompt_index, sample_index).
 */
final class BatchSplit {
    private final int[][] globalIndices; // [server][local prompt] -> global prompt index

    private BatchSplit(int[][] globalIndices) {
        this.globalIndices = globalIndices;
    }

    static BatchSplit roundRobin(int numPrompts, int numServers) {
        int[][] indices = new int[numServers][];
        for (int s = 0; s < numServers; s++) {
            indices[s] = new int[numPrompts / numServers + (s < numPrompts % numServers ? 1 : 0)];
        }
        for (int p = 0; p < numPrompts; p++) {
            indices[p % numServers][p / numServers] = p;
        }
        return new BatchSplit(indices);
    }

    int numServers() {
        return globalIndices.length;
    }

    int numPrompts(int server) {
        return globalIndices[server].length;
    }

    List<Prompt> promptsFor(int server, List<Prompt> prompts) {
        List<Prompt> out = new ArrayList<>(globalIndices[server].length);
        for (int global : globalIndices[server]) {
            out.add(prompts.get(global));
        }
        return out;
    }

    /**
     * Puts the servers' answers (null for a server that had no prompts) back into one response in global order,
     * with summed usage. A server that returns a completion twice, one out of range, one from weights older than
     * {@code minWeightVersion}, or fewer than n per prompt breaks the contract: that is an error naming it.
     */
    GenerateBatchResponse reassemble(List<GenerateBatchResponse> responses, List<ServerAddress> servers, int n,
                                     long minWeightVersion) {
        int totalPrompts = 0;
        for (int[] idx : globalIndices) {
            totalPrompts += idx.length;
        }
        Completion[] slots = new Completion[totalPrompts * n];
        int[] ownerOfPrompt = new int[totalPrompts];
        long promptTokens = 0;
        long completionTokens = 0;
        long cachedTokens = 0;
        for (int s = 0; s < globalIndices.length; s++) {
            for (int global : globalIndices[s]) {
                ownerOfPrompt[global] = s;
            }
            GenerateBatchResponse r = responses.get(s);
            if (r == null) {
                continue;
            }
            for (Completion c : r.getCompletionsList()) {
                int local = c.getPromptIndex();
                int sample = c.getSampleIndex();
                if (local < 0 || local >= globalIndices[s].length || sample < 0 || sample >= n) {
                    throw new IllegalStateException("rollout server " + servers.get(s) + " returned a completion for prompt "
                            + local + " sample " + sample + ", but was sent " + globalIndices[s].length + " prompts with n=" + n);
                }
                if (c.getWeightVersion() < minWeightVersion) {
                    throw new IllegalStateException("rollout server " + servers.get(s) + " returned a completion from weight version "
                            + c.getWeightVersion() + ", older than the required " + minWeightVersion);
                }
                int global = globalIndices[s][local];
                int slot = global * n + sample;
                if (slots[slot] != null) {
                    throw new IllegalStateException("rollout server " + servers.get(s) + " returned prompt " + local
                            + " sample " + sample + " twice");
                }
                slots[slot] = c.toBuilder().setPromptIndex(global).build();
            }
            promptTokens += r.getUsage().getPromptTokens();
            completionTokens += r.getUsage().getCompletionTokens();
            cachedTokens += r.getUsage().getCachedPromptTokens();
        }
        GenerateBatchResponse.Builder out = GenerateBatchResponse.newBuilder();
        for (int slot = 0; slot < slots.length; slot++) {
            if (slots[slot] == null) {
                int global = slot / n;
                throw new IllegalStateException("rollout server " + servers.get(ownerOfPrompt[global]) + " returned no sample "
                        + (slot % n) + " for its prompt " + (global / globalIndices.length) + " (n=" + n + ")");
            }
            out.addCompletions(slots[slot]);
        }
        out.setUsage(Usage.newBuilder().setPromptTokens(promptTokens).setCompletionTokens(completionTokens)
                .setCachedPromptTokens(cachedTokens));
        return out.build();
    }
}
