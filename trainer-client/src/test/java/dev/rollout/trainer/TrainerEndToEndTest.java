package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.Rollouts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three GRPO steps against a real rollout server on loopback, serving the checkpoint directory the trainer starts
 * from; the run is taken once and each test checks one thing it must have done.
 */
class TrainerEndToEndTest {
    private static final int STEPS = 3;

    @TempDir
    static Path tmp;

    static LoopbackServer server;
    static TrainerConfig config;
    static long versionBeforePublication;
    static long versionAfterPublication;
    static final List<Long> versionAfterStep = new ArrayList<>();
    static final List<StepRecord> records = new ArrayList<>();
    static Path checkpoint;
    static long optimizerSteps;
    static final List<float[]> firstMoments = new ArrayList<>();
    static final List<float[]> secondMoments = new ArrayList<>();
    static GenerateBatchResponse baseGreedy;
    static GenerateBatchResponse trainedGreedy;

    @BeforeAll
    static void trainThreeSteps() throws Exception {
        Path model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        server = new LoopbackServer(model);
        config = TestRuns.config(model, tmp.resolve("run"), STEPS, "rollout.mode=server", "rollout.servers=" + server.address());
        baseGreedy = server.generate(greedy());
        try (TrainingRun run = TestRuns.open(config, null)) {
            versionBeforePublication = server.weightVersion();
            run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
            versionAfterPublication = server.weightVersion();
            run.train(0, r -> {
                records.add(r);
                versionAfterStep.add(server.weightVersion());
            });
            checkpoint = run.save();
            optimizerSteps = run.optimizer().stepCount();
            run.optimizer().firstMoments().forEach(m -> firstMoments.add(m.toFloatArray()));
            run.optimizer().secondMoments().forEach(m -> secondMoments.add(m.toFloatArray()));
        }
        trainedGreedy = server.generate(greedy());
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    /** Greedy, EOS ignored: a function of the prompts and the weights only. */
    private static GenerateBatchRequest greedy() {
        GenerateBatchRequest.Builder b = GenerateBatchRequest.newBuilder()
                .setSampling(SamplingParams.newBuilder().setMaxTokens(4).setTemperature(0f).setIgnoreEos(true));
        for (String p : new String[] {"2+3=", "7+8=", "4+1="}) {
            b.addPrompts(Prompt.newBuilder().setText(p));
        }
        return b.build();
    }

    @Test
    void runsTheConfiguredNumberOfSteps() {
        assertEquals(List.of(1, 2, 3), records.stream().map(StepRecord::step).toList());
        assertTrue(Files.isRegularFile(tmp.resolve("run").resolve("metrics.jsonl")));
    }

    @Test
    void serverWeightVersionRisesByOnePerOptimizerStepAfterTheInitialPublication() {
        long published = versionBeforePublication + 1;
        assertEquals(published, versionAfterPublication);
        assertEquals(List.of(published + 1, published + 2, published + 3), versionAfterStep);
    }

    @Test
    void completionsUsedCarryTheVersionLastPublished() {
        long published = versionBeforePublication + 1;
        for (int s = 0; s < STEPS; s++) {
            List<Completion> completions = records.get(s).completions();
            assertEquals(8, completions.size());
            for (Completion c : completions) {
                assertEquals(published + s, c.getWeightVersion(), "step " + (s + 1));
            }
        }
    }

    @Test
    void firstStepSamplingAndTrainerLogProbsAgreeInFp32() {
        double difference = records.get(0).metrics().get("sampling/sampling_logp_difference/mean");
        System.out.printf("first-step mean |sampling - trainer| log-prob difference (fp32): %.3e%n", difference);
        assertTrue(difference < 1e-4, "mean |sampling - trainer| log-prob difference " + difference);
    }

    @Test
    void savedCheckpointLoadsInTheServerAndServesTheTrainedWeights() throws Exception {
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "optimizer.safetensors", "trainer_state.json"}) {
            assertTrue(Files.isRegularFile(checkpoint.resolve(f)), f);
        }
        GenerateBatchResponse served;
        try (LoopbackServer fromCheckpoint = new LoopbackServer(checkpoint)) {
            served = fromCheckpoint.generate(greedy());
        }
        assertEquals(trainedGreedy.getCompletionsCount(), served.getCompletionsCount());
        boolean changedByTraining = false;
        for (int i = 0; i < served.getCompletionsCount(); i++) {
            Completion got = served.getCompletions(i);
            Completion want = trainedGreedy.getCompletions(i);
            assertEquals(want.getTokenIdsList(), got.getTokenIdsList());
            for (int t = 0; t < want.getLogprobsCount(); t++) {
                assertEquals(want.getLogprobs(t), got.getLogprobs(t), 1e-5);
                changedByTraining |= Math.abs(baseGreedy.getCompletions(i).getLogprobs(t) - got.getLogprobs(t)) > 1e-4;
            }
        }
        assertTrue(changedByTraining, "the checkpoint serves the same log-probs as the untrained model");
    }

    @Test
    void resumeRestoresTheStepAndTheOptimizerState() throws Exception {
        try (TrainingRun resumed = TestRuns.open(config, checkpoint)) {
            assertEquals(STEPS, resumed.state().step());
            assertEquals(optimizerSteps, resumed.optimizer().stepCount());
            List<NDArray> first = resumed.optimizer().firstMoments();
            List<NDArray> second = resumed.optimizer().secondMoments();
            assertEquals(firstMoments.size(), first.size());
            boolean nonZero = false;
            for (int i = 0; i < first.size(); i++) {
                assertArrayEquals(firstMoments.get(i), first.get(i).toFloatArray(), "exp_avg of parameter " + i);
                assertArrayEquals(secondMoments.get(i), second.get(i).toFloatArray(), "exp_avg_sq of parameter " + i);
                nonZero |= first.get(i).abs().max().getFloat() > 0;
            }
            assertTrue(nonZero, "the saved moments are all zero: the test would not tell restored from fresh");
        }
    }
}
