package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;
import dev.rollout.model.CausalLM;
import dev.rollout.model.KvCache;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.TestModels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The runner's logits, read from the LM head's tensor into an array it keeps: each sampling row must hold that
 * sequence's logits at its last position (the dense forward's), also on steps with fewer rows than the array has room
 * for, and a step must leave no tensor behind.
 */
class ModelRunnerTest {
    @Test
    void eachStepsRowsHoldTheDenseLogitsAndTheStepLeavesNoTensorBehind() {
        CausalLM model = TestEngines.model();
        ModelConfig config = model.config();
        int vocab = config.vocabSize();
        int blockSize = 4;
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            KvCache cache = new KvCache(config, 64, blockSize, manager);
            BlockManager blocks = new BlockManager(64, blockSize);
            Scheduler scheduler = new ContinuousScheduler(blocks,
                    new StopConditions(config.eosTokenIds(), config.maxPositionEmbeddings()), 512, 16);
            ModelRunner runner = new ModelRunner(model, cache, manager, TestModels.attentionBackend());
            List<int[]> prompts = TestEngines.prompts(3, 3, 9, 71);
            int[] maxTokens = {2, 5, 8}; // the sequences finish one after another, so later steps have fewer rows
            List<Sequence> sequences = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                SamplingParams greedy = SamplingParams.greedy(maxTokens[i]).withIgnoreEos(true);
                Sequence seq = new Sequence(i, i, 0, prompts.get(i), greedy, 5L, null);
                sequences.add(seq);
                scheduler.add(List.of(seq));
            }
            int arraysBetweenSteps = -1;
            float[] previous = null;
            int steps = 0;
            int fewerRows = 0;
            int widest = 0;
            try (BatchSampler sampler = new BatchSampler(1)) {
                while (scheduler.hasWork()) {
                    ScheduledBatch batch = scheduler.schedule();
                    float[] logits = runner.execute(batch);
                    List<BatchSampler.Draw> draws = batch.draws(vocab);
                    for (BatchSampler.Draw d : draws) {
                        Sequence seq = d.sequence();
                        int[] tokens = new int[seq.numTokens()];
                        for (int p = 0; p < tokens.length; p++) {
                            tokens[p] = seq.tokenAt(p);
                        }
                        float[] expected = TestEngines.denseLogits(model, tokens)[tokens.length - 1];
                        for (int v = 0; v < vocab; v++) {
                            assertEquals(expected[v], logits[d.offset() + v], 1e-4, "sequence " + seq.id + ", id " + v);
                        }
                    }
                    if (previous != null && draws.size() > 0) {
                        assertSame(previous, logits, "the runner's array is reused from step to step");
                    }
                    if (draws.size() > 0) {
                        previous = logits;
                        fewerRows += draws.size() < widest ? 1 : 0;
                        widest = Math.max(widest, draws.size());
                    }
                    scheduler.update(batch, sampler.sample(draws, logits, vocab));
                    int arrays = ((BaseNDManager) manager).getManagedArrays().size();
                    if (arraysBetweenSteps >= 0) {
                        assertEquals(arraysBetweenSteps, arrays, "tensors left behind by step " + steps);
                    }
                    arraysBetweenSteps = arrays;
                    steps++;
                }
            }
            assertTrue(fewerRows > 0, "some step sampled fewer rows than an earlier one");
            for (Sequence seq : sequences) {
                assertTrue(seq.isFinished());
            }
            cache.close();
        }
    }
}
