package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Block size 4 throughout. */
class BlockManagerTest {
    private long nextId;

    private Sequence seq(int... tokens) {
        return new Sequence(nextId++, 0, 0, tokens, SamplingParams.greedy(16), 0, null);
    }

    private static int[] range(int from, int count) {
        int[] t = new int[count];
        for (int i = 0; i < count; i++) {
            t[i] = from + i;
        }
        return t;
    }

    /** Admits a sequence, prefix cache included, and marks its whole prompt computed. */
    private static void prefill(BlockManager bm, Sequence s) {
        BlockManager.CachedPrefix prefix = bm.findCachedPrefix(s);
        bm.allocate(s, prefix, s.numTokens());
        bm.markComputed(s, s.numTokens() - s.numComputedTokens);
    }

    @Test
    void allocatesBlocksForTheTokensAndFreesThemAll() {
        BlockManager bm = new BlockManager(8, 4);
        Sequence s = seq(range(10, 9));
        bm.allocate(s, BlockManager.CachedPrefix.NONE, 9);
        assertEquals(3, s.numBlocks());
        assertEquals(5, bm.numFreeBlocks());
        bm.free(s);
        assertEquals(8, bm.numFreeBlocks());
        assertEquals(0, s.numBlocks());
    }

    @Test
    void aRepeatedPromptReusesItsFullBlocksButNeverItsLastToken() {
        BlockManager bm = new BlockManager(16, 4);
        Sequence first = seq(range(10, 10));
        prefill(bm, first);
        assertEquals(2, bm.numCachedBlocks(), "two full blocks, the partial third is not cached");
        int[] firstBlocks = first.blockTable();
        bm.free(first);

        BlockManager.CachedPrefix hit = bm.findCachedPrefix(seq(range(10, 10)));
        assertArrayEquals(new int[] {firstBlocks[0], firstBlocks[1]}, hit.blockIds());
        // A prompt of exactly two blocks must recompute its last token, so only the first block is reused.
        assertEquals(1, bm.findCachedPrefix(seq(range(10, 8))).numBlocks());
        assertEquals(0, bm.findCachedPrefix(seq(range(11, 10))).numBlocks(), "different first block, no hit");
    }

    @Test
    void hashesChainSoAnEqualBlockAfterADifferentPrefixDoesNotHit() {
        BlockManager bm = new BlockManager(16, 4);
        int[] a = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        int[] b = {0, 2, 3, 4, 5, 6, 7, 8, 9};
        prefill(bm, seq(a));
        assertEquals(0, bm.findCachedPrefix(seq(b)).numBlocks());
        assertEquals(2, bm.findCachedPrefix(seq(a)).numBlocks());
    }

    @Test
    void takingACachedBlockReferencesItAndRemovesItFromTheFreeList() {
        BlockManager bm = new BlockManager(8, 4);
        Sequence first = seq(range(10, 9));
        prefill(bm, first);
        int[] firstBlocks = first.blockTable();
        bm.free(first);
        assertEquals(8, bm.numFreeBlocks());

        Sequence second = seq(range(10, 9));
        prefill(bm, second);
        assertEquals(8, second.numComputedTokens - 1, "8 cached tokens, then the 9th computed");
        assertEquals(firstBlocks[0], second.block(0));
        assertEquals(firstBlocks[1], second.block(1));
        assertEquals(1, bm.refCount(firstBlocks[0]));
        assertEquals(5, bm.numFreeBlocks());
    }

    @Test
    void neverHashedBlocksAreReusedBeforeCachedOnesAndCachedOnesLeastRecentlyFreedFirst() {
        BlockManager bm = new BlockManager(4, 4);
        Sequence a = seq(range(10, 5));
        Sequence b = seq(range(20, 5));
        prefill(bm, a);
        prefill(bm, b);
        int cachedA = a.block(0);
        int cachedB = b.block(0);
        bm.free(a);
        bm.free(b);
        // Free now: a's and b's partial blocks (never hashed), then a's then b's cached first block.
        Sequence c = seq(range(30, 8));
        bm.allocate(c, BlockManager.CachedPrefix.NONE, 8);
        assertFalse(c.block(0) == cachedA || c.block(1) == cachedA || c.block(0) == cachedB || c.block(1) == cachedB);
        assertEquals(2, bm.numCachedBlocks());
        Sequence d = seq(range(40, 4));
        bm.allocate(d, BlockManager.CachedPrefix.NONE, 4);
        assertEquals(cachedA, d.block(0), "the least recently freed cached block is evicted first");
        assertEquals(1, bm.numCachedBlocks());
        assertEquals(1, bm.findCachedPrefix(seq(range(20, 5))).numBlocks());
        assertEquals(0, bm.findCachedPrefix(seq(range(10, 5))).numBlocks());
    }

    @Test
    void aForkSharesEveryBlockAndTheFirstWriteToTheSharedPartialBlockCopiesIt() {
        BlockManager bm = new BlockManager(8, 4);
        Sequence parent = seq(range(10, 6));
        prefill(bm, parent);
        Sequence child = seq(range(10, 6));
        bm.fork(parent, child);
        assertArrayEquals(parent.blockTable(), child.blockTable());
        assertEquals(2, bm.refCount(parent.block(1)));
        assertEquals(6, bm.numFreeBlocks());

        child.appendToken(50, 0f);
        parent.appendToken(51, 0f);
        bm.append(child, 1);
        List<BlockManager.BlockCopy> copies = bm.drainPendingCopies();
        assertEquals(List.of(new BlockManager.BlockCopy(parent.block(1), child.block(1))), copies);
        assertNotEquals(parent.block(1), child.block(1));
        assertEquals(parent.block(0), child.block(0), "the full block stays shared");
        assertEquals(1, bm.refCount(parent.block(1)));

        bm.append(parent, 1);
        assertTrue(bm.drainPendingCopies().isEmpty(), "the last holder writes in place");
        bm.free(parent);
        bm.free(child);
        assertEquals(8, bm.numFreeBlocks());
    }

    @Test
    void appendingPastABlockBoundaryTakesANewBlockAndReportsWhenNoneIsLeft() {
        BlockManager bm = new BlockManager(2, 4);
        Sequence s = seq(range(10, 4));
        prefill(bm, s);
        s.appendToken(1, 0f);
        assertTrue(bm.canAppend(s, 1));
        bm.append(s, 1);
        assertEquals(2, s.numBlocks());
        Sequence other = seq(range(20, 2));
        assertFalse(bm.canAllocate(BlockManager.CachedPrefix.NONE, 2));
        assertThrows(IllegalStateException.class, () -> bm.allocate(other, BlockManager.CachedPrefix.NONE, 2));
    }

    @Test
    void resetForgetsEveryCachedBlockAndLaterComputationsOfOlderSequences() {
        BlockManager bm = new BlockManager(8, 4);
        Sequence done = seq(range(10, 9));
        prefill(bm, done);
        bm.free(done);
        Sequence inFlight = seq(range(30, 3));
        prefill(bm, inFlight);
        assertEquals(2, bm.resetPrefixCache());
        assertEquals(0, bm.findCachedPrefix(seq(range(10, 9))).numBlocks());
        inFlight.appendToken(5, 0f);
        bm.append(inFlight, 1);
        bm.markComputed(inFlight, 1);
        assertEquals(0, bm.numCachedBlocks(), "K/V computed before the reset is not cached after it");
        bm.free(inFlight);
        assertEquals(8, bm.numFreeBlocks());
    }
}
