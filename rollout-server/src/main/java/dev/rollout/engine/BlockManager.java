package dev.rollout.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Owns the KV cache's blocks (vLLM v1 / nano-vllm): reference counts, a free list that hands out never-hashed blocks
 * first and cached (hashed) blocks least-recently-freed first, and a prefix cache keyed by the chained hash of each full
 * block's tokens ({@link PrefixCacheIndex}). Sequences share blocks by reference: cached prefixes across requests, and
 * a prompt's blocks among its n samples, where the partly filled last block is copied on the first write. Not
 * thread-safe: the engine thread owns it.
 */
final class BlockManager {

    /** A block to copy before the next forward: the copy-on-write of a shared, partly filled block. */
    record BlockCopy(int source, int target) {}

    /** The leading full blocks of a sequence found in the prefix cache, with their chained hashes. Not yet referenced. */
    record CachedPrefix(int[] blockIds, long[] hashes) {
        static final CachedPrefix NONE = new CachedPrefix(new int[0], new long[0]);

        int numBlocks() {
            return blockIds.length;
        }
    }

    private final int numBlocks;
    private final int blockSize;
    private final int[] refCount;
    private final PrefixCacheIndex index;
    private final ArrayDeque<Integer> unhashedFree = new ArrayDeque<>();
    private final LinkedHashSet<Integer> hashedFree = new LinkedHashSet<>();
    private final List<BlockCopy> pendingCopies = new ArrayList<>();
    /** Bumped by every reset: K/V computed before a reset (older weights) is never entered into the cache afterwards. */
    private int epoch;

    BlockManager(int numBlocks, int blockSize) {
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("a block manager needs a positive number of blocks (" + numBlocks
                    + ") and block size (" + blockSize + ")");
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.refCount = new int[numBlocks];
        this.index = new PrefixCacheIndex(numBlocks, blockSize);
        for (int i = 0; i < numBlocks; i++) {
            unhashedFree.add(i);
        }
    }

    int numBlocks() {
        return numBlocks;
    }

    int blockSize() {
        return blockSize;
    }

    int numFreeBlocks() {
        return unhashedFree.size() + hashedFree.size();
    }

    int numUsedBlocks() {
        return numBlocks - numFreeBlocks();
    }

    int numCachedBlocks() {
        return index.size();
    }

    int refCount(int block) {
        return refCount[block];
    }

    /** Blocks needed to hold {@code numTokens} tokens. */
    int blocksFor(int numTokens) {
        return (numTokens + blockSize - 1) / blockSize;
    }

    // ---- prefix cache ----

    /**
     * The longest chain of cached full blocks matching the start of {@code seq}'s tokens, never covering its last token
     * (whose logits are needed, so at least that token is always recomputed).
     */
    CachedPrefix findCachedPrefix(Sequence seq) {
        int maxBlocks = (seq.numTokens() - 1) / blockSize;
        int[] ids = new int[maxBlocks];
        long[] hashes = new long[maxBlocks];
        long parent = PrefixCacheIndex.ROOT_HASH;
        int found = 0;
        for (int b = 0; b < maxBlocks; b++) {
            long h = index.hashBlock(parent, seq, b);
            Integer id = index.find(h, seq, b);
            if (id == null) {
                break;
            }
            ids[found] = id;
            hashes[found] = h;
            found++;
            parent = h;
        }
        return found == 0 ? CachedPrefix.NONE : new CachedPrefix(Arrays.copyOf(ids, found), Arrays.copyOf(hashes, found));
    }

    /** Forgets every cached block (after a weight update the cached K/V is stale). Returns how many were forgotten. */
    int resetPrefixCache() {
        int forgotten = index.clear();
        unhashedFree.addAll(hashedFree);
        hashedFree.clear();
        epoch++;
        return forgotten;
    }

    // ---- allocation ----

    /** Whether a sequence without blocks can take {@code prefix} and enough new blocks to hold {@code numTokens} tokens. */
    boolean canAllocate(CachedPrefix prefix, int numTokens) {
        int fromFreeList = Math.max(0, blocksFor(numTokens) - prefix.numBlocks());
        for (int id : prefix.blockIds()) {
            if (refCount[id] == 0) {
                fromFreeList++;
            }
        }
        return fromFreeList <= numFreeBlocks();
    }

    /**
     * Gives a sequence without blocks the cached {@code prefix} (its tokens count as computed) and new blocks up to
     * {@code numTokens} tokens. Check {@link #canAllocate} first.
     */
    void allocate(Sequence seq, CachedPrefix prefix, int numTokens) {
        if (seq.numBlocks() != 0) {
            throw new IllegalStateException(seq + " already holds blocks");
        }
        if (!canAllocate(prefix, numTokens)) {
            throw new IllegalStateException("not enough free blocks for " + seq);
        }
        for (int i = 0; i < prefix.numBlocks(); i++) {
            int id = prefix.blockIds()[i];
            if (refCount[id]++ == 0) {
                hashedFree.remove(id);
            }
            seq.addBlock(id);
            seq.addBlockHash(prefix.hashes()[i]);
        }
        seq.numComputedTokens = prefix.numBlocks() * blockSize;
        seq.cacheEpoch = epoch;
        while (seq.numBlocks() < blocksFor(numTokens)) {
            seq.addBlock(takeFreeBlock());
        }
    }

    /** Whether a running sequence can get the blocks (and copy-on-write) for its next {@code numNewTokens} tokens. */
    boolean canAppend(Sequence seq, int numNewTokens) {
        return blocksToAppend(seq, numNewTokens) <= numFreeBlocks();
    }

    /**
     * Makes room for a running sequence's next {@code numNewTokens} tokens: new blocks as needed, and a private copy of
     * the block being written to if it is shared (queued in {@link #drainPendingCopies}). Check {@link #canAppend} first.
     */
    void append(Sequence seq, int numNewTokens) {
        if (!canAppend(seq, numNewTokens)) {
            throw new IllegalStateException("not enough free blocks to append " + numNewTokens + " tokens to " + seq);
        }
        int writeIndex = seq.numComputedTokens / blockSize;
        if (writeIndex < seq.numBlocks() && refCount[seq.block(writeIndex)] > 1) {
            int shared = seq.block(writeIndex);
            int copy = takeFreeBlock();
            refCount[shared]--;
            seq.replaceBlock(writeIndex, copy);
            pendingCopies.add(new BlockCopy(shared, copy));
        }
        int needed = blocksFor(seq.numComputedTokens + numNewTokens);
        while (seq.numBlocks() < needed) {
            seq.addBlock(takeFreeBlock());
        }
    }

    private int blocksToAppend(Sequence seq, int numNewTokens) {
        int blocks = Math.max(0, blocksFor(seq.numComputedTokens + numNewTokens) - seq.numBlocks());
        int writeIndex = seq.numComputedTokens / blockSize;
        if (writeIndex < seq.numBlocks() && refCount[seq.block(writeIndex)] > 1) {
            blocks++;
        }
        return blocks;
    }

    /** Gives {@code child} (without blocks) a reference to every block of {@code parent} and its computed state. */
    void fork(Sequence parent, Sequence child) {
        if (child.numBlocks() != 0) {
            throw new IllegalStateException(child + " already holds blocks");
        }
        if (parent.numBlocks() == 0) {
            throw new IllegalStateException("cannot fork from " + parent + ": it holds no blocks");
        }
        for (int i = 0; i < parent.numBlocks(); i++) {
            refCount[parent.block(i)]++;
        }
        child.copyBlocksFrom(parent);
    }

    /**
     * Records that {@code numNewTokens} more tokens of {@code seq} have their K/V in the cache, and enters the blocks
     * this filled into the prefix cache.
     */
    void markComputed(Sequence seq, int numNewTokens) {
        seq.numComputedTokens += numNewTokens;
        int fullBlocks = seq.numComputedTokens / blockSize;
        for (int b = seq.numHashedBlocks(); b < fullBlocks; b++) {
            long parent = b == 0 ? PrefixCacheIndex.ROOT_HASH : seq.blockHash(b - 1);
            long h = index.hashBlock(parent, seq, b);
            seq.addBlockHash(h);
            if (seq.cacheEpoch == epoch) {
                index.add(h, seq.block(b), seq, b);
            }
        }
    }

    /** Drops a sequence's references to its blocks (it finished, was aborted or preempted); its state returns to uncomputed. */
    void free(Sequence seq) {
        // Last blocks first: a sequence's tail is then evicted from the cache before its (more shareable) head.
        for (int i = seq.numBlocks() - 1; i >= 0; i--) {
            int id = seq.block(i);
            if (refCount[id] <= 0) {
                throw new IllegalStateException("block " + id + " of " + seq + " is already free");
            }
            if (--refCount[id] == 0) {
                if (index.contains(id)) {
                    hashedFree.add(id);
                } else {
                    unhashedFree.addFirst(id);
                }
            }
        }
        seq.clearBlocks();
    }

    /** The copies that must be made before the next forward, in order; clears them. */
    List<BlockCopy> drainPendingCopies() {
        if (pendingCopies.isEmpty()) {
            return List.of();
        }
        List<BlockCopy> copies = List.copyOf(pendingCopies);
        pendingCopies.clear();
        return copies;
    }

    private int takeFreeBlock() {
        Integer id = unhashedFree.pollFirst();
        if (id == null) {
            Iterator<Integer> oldest = hashedFree.iterator();
            if (!oldest.hasNext()) {
                throw new IllegalStateException("no free KV cache block");
            }
            id = oldest.next();
            oldest.remove();
            index.remove(id);
        }
        refCount[id] = 1;
        return id;
    }
}
