package dev.rollout.engine;

import java.util.HashMap;
import java.util.Map;

/**
 * The prefix cache's index (vLLM's {@code BlockHashToBlockMap}): which block holds the full block of tokens with a
 * given chained hash. It keeps each indexed block's tokens too, so that a hash collision never hands one prefix another
 * prefix's K/V. A block stays indexed until it is handed out for other tokens or the cache is reset. Not thread-safe:
 * the engine thread owns it.
 */
final class PrefixCacheIndex {
    /** The parent hash of a sequence's first block. */
    static final long ROOT_HASH = 0x5EED_B10C_CAC4E5L;

    private final int blockSize;
    private final long[] hash;
    private final boolean[] hashed;
    private final int[][] hashedTokens;
    private final Map<Long, Integer> blockByHash = new HashMap<>();

    PrefixCacheIndex(int numBlocks, int blockSize) {
        this.blockSize = blockSize;
        this.hash = new long[numBlocks];
        this.hashed = new boolean[numBlocks];
        this.hashedTokens = new int[numBlocks][];
    }

    int size() {
        return blockByHash.size();
    }

    boolean contains(int block) {
        return hashed[block];
    }

    /** The block holding block {@code blockIndex} of {@code seq}'s tokens, whose chained hash is {@code h}; null if none. */
    Integer find(long h, Sequence seq, int blockIndex) {
        Integer id = blockByHash.get(h);
        if (id == null || !sameTokens(hashedTokens[id], seq, blockIndex)) {
            return null;
        }
        return id;
    }

    /**
     * Indexes {@code block}, which holds block {@code blockIndex} of {@code seq}'s tokens, under their chained hash
     * {@code h}; a block already indexed, or a hash another block holds, stays as it is.
     */
    void add(long h, int block, Sequence seq, int blockIndex) {
        if (!hashed[block] && !blockByHash.containsKey(h)) {
            blockByHash.put(h, block);
            hash[block] = h;
            hashed[block] = true;
            hashedTokens[block] = tokensOf(seq, blockIndex);
        }
    }

    /** Drops {@code block} from the index: it is about to hold other tokens. */
    void remove(int block) {
        blockByHash.remove(hash[block], block);
        hashed[block] = false;
        hashedTokens[block] = null;
    }

    /** Drops every block; returns how many were indexed. */
    int clear() {
        int forgotten = blockByHash.size();
        blockByHash.clear();
        for (int b = 0; b < hashed.length; b++) {
            hashed[b] = false;
            hashedTokens[b] = null;
        }
        return forgotten;
    }

    /** The chained hash of block {@code blockIndex} of {@code seq}'s tokens, given its predecessor's hash. */
    long hashBlock(long parent, Sequence seq, int blockIndex) {
        long h = parent;
        int start = blockIndex * blockSize;
        for (int i = start; i < start + blockSize; i++) {
            h = Mix64.combine(h, seq.tokenAt(i));
        }
        return h;
    }

    private boolean sameTokens(int[] cached, Sequence seq, int blockIndex) {
        int start = blockIndex * blockSize;
        for (int i = 0; i < blockSize; i++) {
            if (cached[i] != seq.tokenAt(start + i)) {
                return false;
            }
        }
        return true;
    }

    private int[] tokensOf(Sequence seq, int blockIndex) {
        int[] t = new int[blockSize];
        for (int i = 0; i < blockSize; i++) {
            t[i] = seq.tokenAt(blockIndex * blockSize + i);
        }
        return t;
    }
}
