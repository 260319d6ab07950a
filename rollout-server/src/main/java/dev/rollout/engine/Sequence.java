package dev.rollout.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One completion being generated: the prompt followed by the tokens generated so far, their log-probs, how many tokens
 * have their K/V in the cache, and the blocks holding them. Its RNG is seeded from (request seed, prompt index, sample
 * index) only, so what it samples does not depend on what else is in the batch.
 */
final class Sequence {

    enum Status { WAITING, RUNNING, FINISHED }

    final long id;
    final int promptIndex;
    final int sampleIndex;
    final SamplingParams params;
    /** The request this sequence belongs to; null in tests of the scheduling policy alone. */
    final RequestState owner;
    final long arrivalNanos;

    private final int numPromptTokens;
    private int[] tokens;
    private int numTokens;
    private float[] logprobs;
    /** The weight version each generated token was sampled under, parallel to {@code logprobs}. */
    private long[] tokenVersions;
    private final SplittableRandom rng;

    private int[] blockTable = new int[4];
    private int numBlocks;
    /** Chained content hashes of this sequence's first {@code numHashedBlocks} full blocks, whether or not registered. */
    private long[] blockHashes = new long[4];
    private int numHashedBlocks;

    int numComputedTokens;
    /** The weight version its next token will be sampled under: set when admitted and at every weight swap. */
    long weightVersion;
    /** The prefix-cache epoch its blocks were allocated in; only K/V of the current epoch enters the cache. */
    int cacheEpoch;
    /** Prompt tokens found in the prefix cache when first scheduled (-1 until then). */
    int numCachedTokens = -1;
    Status status = Status.WAITING;
    FinishReason finishReason;
    /** Samples of the same prompt waiting for this one's prefill, to be forked from it (continuous scheduler). */
    final List<Sequence> pendingForks = new ArrayList<>(0);
    /** The sequence this one waits to be forked from, while it waits. */
    Sequence forkSource;

    Sequence(long id, int promptIndex, int sampleIndex, int[] prompt, SamplingParams params, long baseSeed, RequestState owner) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt " + promptIndex + " is empty: a prompt needs at least one token");
        }
        this.id = id;
        this.promptIndex = promptIndex;
        this.sampleIndex = sampleIndex;
        this.params = params;
        this.owner = owner;
        this.arrivalNanos = System.nanoTime();
        this.numPromptTokens = prompt.length;
        this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(params.maxTokens(), 256));
        this.numTokens = prompt.length;
        this.logprobs = new float[Math.min(params.maxTokens(), 256)];
        this.tokenVersions = new long[logprobs.length];
        this.rng = new SplittableRandom(seedFor(baseSeed, promptIndex, sampleIndex));
    }

    /** The RNG seed of sample {@code sampleIndex} of prompt {@code promptIndex} in a request with base seed {@code baseSeed}. */
    static long seedFor(long baseSeed, int promptIndex, int sampleIndex) {
        return Mix64.combine(Mix64.combine(Mix64.mix(baseSeed), promptIndex), sampleIndex);
    }

    SplittableRandom rng() {
        return rng;
    }

    int numTokens() {
        return numTokens;
    }

    int numPromptTokens() {
        return numPromptTokens;
    }

    int numGeneratedTokens() {
        return numTokens - numPromptTokens;
    }

    int tokenAt(int position) {
        return tokens[position];
    }

    int lastToken() {
        return tokens[numTokens - 1];
    }

    int[] promptTokenIds() {
        return Arrays.copyOf(tokens, numPromptTokens);
    }

    int[] generatedTokenIds() {
        return Arrays.copyOfRange(tokens, numPromptTokens, numTokens);
    }

    float[] logprobs() {
        return Arrays.copyOf(logprobs, numGeneratedTokens());
    }

    long[] tokenWeightVersions() {
        return Arrays.copyOf(tokenVersions, numGeneratedTokens());
    }

    /** Tokens that still need their K/V computed; the last of them yields the next token's logits. */
    int numUncomputedTokens() {
        return numTokens - numComputedTokens;
    }

    void appendToken(int token, float logprob) {
        if (numTokens == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        int generated = numGeneratedTokens();
        if (generated == logprobs.length) {
            logprobs = Arrays.copyOf(logprobs, Math.max(4, logprobs.length * 2));
            tokenVersions = Arrays.copyOf(tokenVersions, logprobs.length);
        }
        tokens[numTokens++] = token;
        logprobs[generated] = logprob;
        tokenVersions[generated] = weightVersion;
    }

    boolean isFinished() {
        return status == Status.FINISHED;
    }

    // ---- block table ----

    int numBlocks() {
        return numBlocks;
    }

    int block(int index) {
        return blockTable[index];
    }

    int[] blockTable() {
        return Arrays.copyOf(blockTable, numBlocks);
    }

    void addBlock(int blockId) {
        if (numBlocks == blockTable.length) {
            blockTable = Arrays.copyOf(blockTable, blockTable.length * 2);
        }
        blockTable[numBlocks++] = blockId;
    }

    void replaceBlock(int index, int blockId) {
        blockTable[index] = blockId;
    }

    void clearBlocks() {
        numBlocks = 0;
        numHashedBlocks = 0;
        numComputedTokens = 0;
    }

    int numHashedBlocks() {
        return numHashedBlocks;
    }

    long blockHash(int index) {
        return blockHashes[index];
    }

    void addBlockHash(long hash) {
        if (numHashedBlocks == blockHashes.length) {
            blockHashes = Arrays.copyOf(blockHashes, blockHashes.length * 2);
        }
        blockHashes[numHashedBlocks++] = hash;
    }

    /** Takes over another sequence's blocks and computed state (a fork after a shared prefill). */
    void copyBlocksFrom(Sequence parent) {
        blockTable = Arrays.copyOf(parent.blockTable, Math.max(4, parent.blockTable.length));
        numBlocks = parent.numBlocks;
        blockHashes = Arrays.copyOf(parent.blockHashes, Math.max(4, parent.blockHashes.length));
        numHashedBlocks = parent.numHashedBlocks;
        numComputedTokens = parent.numComputedTokens;
        numCachedTokens = parent.numCachedTokens;
        cacheEpoch = parent.cacheEpoch;
        weightVersion = parent.weightVersion;
    }

    @Override
    public String toString() {
        return "Sequence[" + id + " prompt " + promptIndex + " sample " + sampleIndex + ", " + status + ", tokens "
                + numTokens + " (prompt " + numPromptTokens + "), computed " + numComputedTokens + ", blocks " + numBlocks + "]";
    }
}
