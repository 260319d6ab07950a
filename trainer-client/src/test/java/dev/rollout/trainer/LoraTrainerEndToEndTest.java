package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.Rollouts;
import dev.rollout.weights.HostTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three GRPO steps with a LoRA adapter (all linear modules, rank 4, no dropout, β > 0 so the base is the reference)
 * against a real rollout server on loopback; the run is taken once and each test checks one thing it must have done.
 */
class LoraTrainerEndToEndTest {
    private static final int STEPS = 3;
    private static final int RANK = 4;

    @TempDir
    static Path tmp;

    static Path model;
    static LoopbackServer server;
    static TrainerConfig config;
    static final List<StepRecord> records = new ArrayList<>();
    static Path checkpoint;
    static long initialBytes;
    static int optimizerTensors;
    static List<long[]> momentShapes = new ArrayList<>();
    static List<long[]> adapterShapes = new ArrayList<>();
    static List<float[]> firstMoments = new ArrayList<>();
    static List<float[]> adapterAfter = new ArrayList<>();
    static List<float[]> baseAfter = new ArrayList<>();
    static boolean baseHasGradients;
    static GenerateBatchResponse trainedGreedy;
    static ModelInfo infoAfter;

    @BeforeAll
    static void trainThreeSteps() throws Exception {
        model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        server = new LoopbackServer(model);
        config = TestRuns.config(model, tmp.resolve("run"), STEPS, "rollout.mode=server", "rollout.servers=" + server.address(),
                "use_peft=true", "lora_r=" + RANK, "lora_alpha=8", "lora_target_modules=[all-linear]", "beta=0.04",
                // dropout noise in the training forward would hide whether merged and unmerged adapters agree
                "lora_dropout=0", "save_merged_model=true");
        try (TrainingRun run = TestRuns.open(config, null)) {
            long before = System.nanoTime();
            run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
            run.train(0, records::add);
            checkpoint = run.save();
            optimizerTensors = run.optimizer().firstMoments().size();
            run.optimizer().firstMoments().forEach(m -> {
                momentShapes.add(m.getShape().getShape());
                firstMoments.add(m.toFloatArray());
            });
            LoraAdapter adapter = run.policy().model().adapter();
            adapter.parameters().forEach(p -> {
                adapterShapes.add(p.getShape().getShape());
                adapterAfter.add(p.toFloatArray());
            });
            run.policy().model().weights().toHost().forEach(t -> baseAfter.add(t.toFloats()));
            baseHasGradients = run.policy().model().weights().parameters().stream().anyMatch(NDArray::hasGradient);
        }
        trainedGreedy = server.generate(greedy());
        infoAfter = server.modelInfo();
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    private static GenerateBatchRequest greedy() {
        GenerateBatchRequest.Builder b = GenerateBatchRequest.newBuilder()
                .setSampling(SamplingParams.newBuilder().setMaxTokens(4).setTemperature(0f).setIgnoreEos(true));
        for (String p : new String[] {"2+3=", "7+8=", "4+1="}) {
            b.addPrompts(Prompt.newBuilder().setText(p));
        }
        return b.build();
    }

    /** r · (in + out) · 4 bytes per module and layer, summed over the tiny model's seven linear modules. */
    private static long adapterBytes(ModelConfig c) {
        long h = c.hiddenSize();
        long perLayer = (h + c.qSize()) + 2 * (h + c.kvSize()) + (c.qSize() + h)
                + 2 * (h + c.intermediateSize()) + (c.intermediateSize() + h);
        return 4L * RANK * perLayer * c.numLayers();
    }

    @Test
    void onlyAdapterTensorsHaveOptimizerState() {
        assertEquals(adapterShapes.size(), optimizerTensors);
        for (int i = 0; i < adapterShapes.size(); i++) {
            assertArrayEquals(adapterShapes.get(i), momentShapes.get(i), "moment " + i);
        }
        assertEquals(2 * 7 * ModelPresets.config("tiny").numLayers(), optimizerTensors);
        assertFalse(baseHasGradients, "a base weight requires a gradient");
        assertTrue(firstMoments.stream().anyMatch(m -> maxAbs(m) > 0), "the moments are all zero: nothing was trained");
    }

    @Test
    void theBaseWeightsAreLeftAsTheyWere() throws IOException {
        try (Checkpoint base = Checkpoint.open(model); ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager();
             ModelWeights w = base.loadWeights(m)) {
            List<HostTensor> original = w.toHost();
            for (int i = 0; i < original.size(); i++) {
                assertArrayEquals(original.get(i).toFloats(), baseAfter.get(i), original.get(i).name());
            }
        }
    }

    @Test
    void eachStepSyncsOnlyTheAdapter() {
        long expected = adapterBytes(ModelPresets.config("tiny"));
        for (StepRecord r : records) {
            assertEquals(expected, r.publishedBytes(), "step " + r.step());
        }
    }

    @Test
    void theServerReportsTheAdapterAtTheLastVersion() {
        assertEquals(RANK, infoAfter.getAdapter().getR());
        assertEquals(7, infoAfter.getAdapter().getTargetModulesCount());
        assertEquals(infoAfter.getWeightVersion(), infoAfter.getAdapterVersion());
        assertFalse(infoAfter.getBaseFingerprint().isEmpty());
    }

    @Test
    void firstStepSamplingAndTrainerLogProbsAgree() {
        // the server serves merged weights, the trainer computes the adapter unmerged: the same function in fp32
        double difference = records.get(0).metrics().get("sampling/sampling_logp_difference/mean");
        assertTrue(difference < 1e-4, "mean |sampling - trainer| log-prob difference " + difference);
        double later = records.get(STEPS - 1).metrics().get("sampling/sampling_logp_difference/mean");
        assertTrue(later < 1e-4, "last step's mean |sampling - trainer| log-prob difference " + later);
    }

    @Test
    void savedAdapterServedOnTheBaseGivesWhatTheTrainingServerServed() throws Exception {
        for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors", "trainer_state.json"}) {
            assertTrue(Files.isRegularFile(checkpoint.resolve(f)), f);
        }
        try (LoopbackServer fromAdapter = new LoopbackServer(model).withAdapter(checkpoint)) {
            assertSameCompletions(trainedGreedy, fromAdapter.generate(greedy()));
        }
    }

    @Test
    void savedMergedModelServesWhatTheTrainingServerServed() throws Exception {
        assertTrue(Files.isRegularFile(checkpoint.resolve("merged").resolve("model.safetensors")));
        try (LoopbackServer fromMerged = new LoopbackServer(checkpoint.resolve("merged"))) {
            assertSameCompletions(trainedGreedy, fromMerged.generate(greedy()));
        }
    }

    @Test
    void resumeRestoresTheAdapterAndItsOptimizerState() throws Exception {
        try (TrainingRun resumed = TestRuns.open(config, checkpoint)) {
            assertEquals(STEPS, resumed.state().step());
            List<NDArray> params = resumed.policy().model().adapter().parameters();
            for (int i = 0; i < params.size(); i++) {
                assertArrayEquals(adapterAfter.get(i), params.get(i).toFloatArray(), "adapter tensor " + i);
            }
            List<NDArray> first = resumed.optimizer().firstMoments();
            for (int i = 0; i < first.size(); i++) {
                assertArrayEquals(firstMoments.get(i), first.get(i).toFloatArray(), "exp_avg " + i);
            }
        }
    }

    @Test
    void anAdapterCheckpointDoesNotResumeWithoutUsePeft() {
        TrainerConfig full = TestRuns.config(model, tmp.resolve("full-run"), STEPS, "rollout.mode=colocate");
        IOException e = assertThrows(IOException.class, () -> TestRuns.open(full, checkpoint));
        assertTrue(e.getMessage().contains("use_peft"), e.getMessage());
    }

    @Test
    void anAdapterCheckpointDoesNotResumeWithAnotherRank() {
        TrainerConfig other = TestRuns.config(model, tmp.resolve("other-run"), STEPS, "rollout.mode=colocate",
                "use_peft=true", "lora_r=8", "lora_alpha=8", "lora_target_modules=[all-linear]", "lora_dropout=0");
        IOException e = assertThrows(IOException.class, () -> TestRuns.open(other, checkpoint));
        assertTrue(e.getMessage().contains("rank 4") && e.getMessage().contains("rank 8"), e.getMessage());
    }

    private static void assertSameCompletions(GenerateBatchResponse want, GenerateBatchResponse got) {
        assertEquals(want.getCompletionsCount(), got.getCompletionsCount());
        for (int i = 0; i < want.getCompletionsCount(); i++) {
            Completion w = want.getCompletions(i);
            Completion g = got.getCompletions(i);
            assertEquals(w.getTokenIdsList(), g.getTokenIdsList());
            for (int t = 0; t < w.getLogprobsCount(); t++) {
                assertEquals(w.getLogprobs(t), g.getLogprobs(t), 1e-5);
            }
        }
    }

    private static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }
}
