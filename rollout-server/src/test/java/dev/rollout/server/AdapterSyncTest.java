package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.rollout.lora.BaseFingerprint;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.lora.LoraMerge;
import dev.rollout.lora.PeftAdapterFiles;
import dev.rollout.lora.TestAdapters;
import dev.rollout.model.CausalLM;
import dev.rollout.model.DenseCausalContext;
import dev.rollout.model.ModelWeights;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.LoraAdapterSpec;
import dev.rollout.proto.v1.LogprobsMode;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.server.sync.AdapterServing;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapter syncs over a real server, as each {@link AdapterServing} serves them: what is served computes as the base
 * with the adapter merged in, afresh each version, while the base itself is never written. What holds for one way of
 * serving only is in {@link MergedAdapterSyncTest} and {@link UnmergedAdapterSyncTest}.
 */
abstract class AdapterSyncTest {
    static final int CHUNK = 4099;
    static final LoraConfig LORA = new LoraConfig(4, 8, 0, LoraConfig.parseTargets(List.of("all-linear")), false);
    TestServer server;
    List<HostTensor> base;

    abstract AdapterServing serving();

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start(ServerOptions.defaults(0).withAdapterServing(serving()));
        base = new ArrayList<>(TestServer.randomWeights(server.config, TestServer.SEED).values());
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    static LoraAdapterSpec spec(LoraConfig c) {
        return LoraAdapterSpec.newBuilder().setR(c.r()).setLoraAlpha((float) c.alpha()).setUseRslora(c.useRslora())
                .addAllTargetModules(c.targetModuleNames()).build();
    }

    static WeightStream adapterStream(long version, Map<String, HostTensor> adapter, LoraAdapterSpec spec, String fingerprint) {
        UnaryOperator<SyncWeightsChunk> withLora = m -> m.toBuilder().setHeader(m.getHeader().toBuilder()
                .setLora(spec).setBaseFingerprint(fingerprint)).build();
        return WeightStream.of(version, true, adapter.values(), CHUNK).edit(0, withLora);
    }

    Map<String, HostTensor> adapter(long seed) {
        return TestAdapters.random(LORA, server.config, seed, 0.3);
    }

    /** The weights the server's forward computes with: merged ones as they are, or the base with its adapter merged in. */
    List<float[]> servedWeights() {
        return servedWeights(server);
    }

    static List<float[]> servedWeights(TestServer server) {
        CausalLM model = server.loaded.served().model();
        if (model.adapter() == null) {
            return model.weights().toHost().stream().map(HostTensor::toFloats).toList();
        }
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             ModelWeights merged = LoraMerge.merge(model.weights(), model.adapter(), m)) {
            return merged.toHost().stream().map(HostTensor::toFloats).toList();
        }
    }

    static void assertWeightsClose(List<HostTensor> expected, List<float[]> got, double tolerance) {
        assertEquals(expected.size(), got.size());
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i).toFloats(), got.get(i), (float) tolerance, expected.get(i).name());
        }
    }

    ModelInfo info() {
        return server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance());
    }

    Status refused(WeightStream stream) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> stream.send(server.async()));
        return Status.fromThrowable(e.getCause());
    }

    /** Greedy completions of two prompts with raw log-probs: a function of the served weights alone. */
    List<Completion> generate() {
        GenerateBatchRequest request = TestServer.greedy(10, TestServer.tokens(5, 6, 7), TestServer.tokens(40, 2, 9, 11)).toBuilder()
                .setSampling(TestServer.greedy(10).getSampling().toBuilder().setLogprobsMode(LogprobsMode.LOGPROBS_MODE_RAW)).build();
        return server.blocking().generateBatch(request).getCompletionsList();
    }

    @Test
    void servedAdapterLogProbsEqualADenseForwardOfTheMergedWeights() throws Exception {
        Map<String, HostTensor> adapter = adapter(3);
        adapterStream(1, adapter, spec(LORA), "").send(server.async());
        List<Completion> completions = generate();
        List<HostTensor> merged = TestAdapters.mergeByHand(base, LORA, adapter);
        double worst = 0;
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             ModelWeights w = ModelWeights.fromHost(server.config, byName(merged), m);
             CausalLM dense = new CausalLM(server.config, w)) {
            for (Completion c : completions) {
                double[] expected = denseLogProbs(dense, c, m);
                for (int t = 0; t < expected.length; t++) {
                    worst = Math.max(worst, Math.abs(expected[t] - c.getLogprobs(t)));
                }
            }
        }
        assertTrue(worst <= 1e-5, "largest log-prob difference " + worst);
    }

    /** log_softmax of the dense forward's logits at each completion token, in float64 from fp32 logits. */
    private static double[] denseLogProbs(CausalLM model, Completion c, NDManager m) {
        List<Integer> ids = new ArrayList<>(c.getPromptTokenIdsList());
        ids.addAll(c.getTokenIdsList());
        long[] tokens = ids.stream().mapToLong(Integer::longValue).toArray();
        long[] positions = new long[tokens.length];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i;
        }
        try (NDManager step = m.newSubManager()) {
            NDArray hidden = model.forward(step.create(tokens), step.create(positions), new DenseCausalContext(1, tokens.length));
            float[] logits = model.logits(hidden).toFloatArray();
            int v = model.config().vocabSize();
            int p = c.getPromptTokenIdsCount();
            double[] out = new double[c.getTokenIdsCount()];
            for (int t = 0; t < out.length; t++) {
                int row = p - 1 + t;
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < v; k++) {
                    max = Math.max(max, logits[row * v + k]);
                }
                double sum = 0;
                for (int k = 0; k < v; k++) {
                    sum += Math.exp(logits[row * v + k] - max);
                }
                out[t] = logits[row * v + c.getTokenIds(t)] - max - Math.log(sum);
            }
            return out;
        }
    }

    private static Map<String, HostTensor> byName(List<HostTensor> tensors) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        tensors.forEach(t -> out.put(t.name(), t));
        return out;
    }

    @Test
    void twoSuccessiveAdapterVersionsDoNotAccumulate() throws Exception {
        adapterStream(1, adapter(3), spec(LORA), "").send(server.async());
        Map<String, HostTensor> second = adapter(4);
        adapterStream(2, second, spec(LORA), "").send(server.async());
        assertWeightsClose(TestAdapters.mergeByHand(base, LORA, second), servedWeights(), 1e-5);
    }

    @Test
    void aFailedAdapterSyncLeavesTheServedVersionAndItsLogProbsUnchanged() throws Exception {
        adapterStream(1, adapter(3), spec(LORA), "").send(server.async());
        CausalLM model = server.loaded.served().model();
        ModelWeights weights = model.weights();
        LoraAdapter adapter = model.adapter();
        List<Completion> before = generate();

        Map<String, HostTensor> misshapen = adapter(4);
        String name = LoraAdapter.tensorName(0, dev.rollout.lora.LoraTarget.O_PROJ, false);
        misshapen.put(name, HostTensor.ofFloats(name, new long[] {3, 3}, new float[9]));
        assertEquals(Status.Code.INVALID_ARGUMENT, refused(adapterStream(2, misshapen, spec(LORA), "")).getCode());
        String otherBase = BaseFingerprint.of(new ArrayList<>(TestServer.randomWeights(server.config, 2).values()));
        assertEquals(Status.Code.FAILED_PRECONDITION, refused(adapterStream(2, adapter(5), spec(LORA), otherBase)).getCode());

        assertSame(weights, model.weights());
        assertSame(adapter, model.adapter());
        assertTrue(model.weights().parameters().stream().noneMatch(NDArray::isReleased));
        assertEquals(1, info().getWeightVersion());
        assertEquals(1, info().getAdapterVersion());
        List<Completion> after = generate();
        for (int i = 0; i < before.size(); i++) {
            assertEquals(before.get(i).getTokenIdsList(), after.get(i).getTokenIdsList());
            assertEquals(before.get(i).getLogprobsList(), after.get(i).getLogprobsList());
        }
    }

    @Test
    void aPartialSyncOfBaseTensorsWhileAnAdapterServesChangesTheBaseAndDropsTheAdapter() throws Exception {
        adapterStream(1, adapter(3), spec(LORA), "").send(server.async());
        Map<String, HostTensor> other = TestServer.randomWeights(server.config, 2);
        List<String> sent = List.of("model.layers.0.self_attn.k_proj.weight", "model.layers.1.mlp.down_proj.weight",
                "model.norm.weight");
        WeightStream.of(2, true, sent.stream().map(other::get).toList(), CHUNK).send(server.async());
        List<HostTensor> expected = base.stream().map(t -> sent.contains(t.name()) ? other.get(t.name()) : t).toList();
        assertWeightsClose(expected, servedWeights(), 0);
        assertFalse(info().hasAdapter());
        assertEquals(2, info().getWeightVersion());
    }

    @Test
    void modelInfoReportsHowAdaptersAreServed() {
        assertEquals(serving().label(), info().getAdapterServing());
    }

    @Test
    void modelInfoReportsTheActiveAdapter() throws Exception {
        assertFalse(info().hasAdapter());
        adapterStream(3, adapter(3), spec(LORA), "").send(server.async());
        ModelInfo info = info();
        assertEquals(4, info.getAdapter().getR());
        assertEquals(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
                info.getAdapter().getTargetModulesList());
        assertEquals(3, info.getAdapterVersion());
        assertEquals(BaseFingerprint.of(base), info.getBaseFingerprint());
    }

    @Test
    void aFullSyncReplacesTheBaseAndDropsTheAdapter() throws Exception {
        adapterStream(1, adapter(3), spec(LORA), "").send(server.async());
        List<HostTensor> other = new ArrayList<>(TestServer.randomWeights(server.config, 2).values());
        WeightStream.of(2, false, other, CHUNK).send(server.async());
        assertWeightsClose(other, servedWeights(), 0);
        assertFalse(info().hasAdapter());
        Map<String, HostTensor> next = adapter(5);
        adapterStream(3, next, spec(LORA), "").send(server.async());
        assertWeightsClose(TestAdapters.mergeByHand(other, LORA, next), servedWeights(), 1e-5);
    }

    @Test
    void aFullSyncWithAnAdapterSetsBothBaseAndAdapter() throws Exception {
        List<HostTensor> other = new ArrayList<>(TestServer.randomWeights(server.config, 2).values());
        Map<String, HostTensor> adapter = adapter(6);
        List<HostTensor> all = new ArrayList<>(other);
        all.addAll(adapter.values());
        UnaryOperator<SyncWeightsChunk> withLora = m -> m.toBuilder().setHeader(m.getHeader().toBuilder()
                .setLora(spec(LORA)).setBaseFingerprint(BaseFingerprint.of(other))).build();
        WeightStream.of(1, false, all, CHUNK).edit(0, withLora).send(server.async());
        assertWeightsClose(TestAdapters.mergeByHand(other, LORA, adapter), servedWeights(), 1e-5);
        // the next adapter-only version merges into that base
        Map<String, HostTensor> next = adapter(7);
        adapterStream(2, next, spec(LORA), BaseFingerprint.of(other)).send(server.async());
        assertWeightsClose(TestAdapters.mergeByHand(other, LORA, next), servedWeights(), 1e-5);
    }

    @Test
    void anAdapterForAnotherBaseIsRefusedAndChangesNothing() throws Exception {
        List<HostTensor> other = new ArrayList<>(TestServer.randomWeights(server.config, 2).values());
        Status status = refused(adapterStream(1, adapter(3), spec(LORA), BaseFingerprint.of(other)));
        assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains(BaseFingerprint.of(other)), status.getDescription());
        assertWeightsClose(base, servedWeights(), 0);
        assertEquals(0, info().getWeightVersion());
        assertFalse(info().hasAdapter());
    }

    @Test
    void anAdapterTensorOfTheWrongShapeIsRefusedByNameAndChangesNothing() throws Exception {
        Map<String, HostTensor> adapter = adapter(3);
        String name = LoraAdapter.tensorName(1, dev.rollout.lora.LoraTarget.UP_PROJ, true);
        long[] shape = adapter.get(name).shape();
        adapter.put(name, HostTensor.ofFloats(name, new long[] {shape[0] + 1, shape[1]}, new float[(int) ((shape[0] + 1) * shape[1])]));
        Status status = refused(adapterStream(1, adapter, spec(LORA), ""));
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains(name), status.getDescription());
        assertWeightsClose(base, servedWeights(), 0);
    }

    @Test
    void anUnknownTargetModuleIsRefusedByName() {
        Status status = refused(adapterStream(1, adapter(3), spec(LORA).toBuilder().addTargetModules("c_attn").build(), ""));
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains("'c_attn'"), status.getDescription());
    }

    @Test
    void aRankOfZeroIsRefused() {
        Status status = refused(adapterStream(1, adapter(3), spec(LORA).toBuilder().setR(0).build(), ""));
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains("lora_r"), status.getDescription());
    }

    @Test
    void anIncompleteAdapterIsRefused() throws Exception {
        Map<String, HostTensor> adapter = adapter(3);
        String dropped = LoraAdapter.tensorName(0, dev.rollout.lora.LoraTarget.K_PROJ, false);
        adapter.remove(dropped);
        Status status = refused(adapterStream(1, adapter, spec(LORA), ""));
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains(dropped), status.getDescription());
        assertWeightsClose(base, servedWeights(), 0);
    }

    @Test
    void aPeftAdapterDirectoryLoadsOntoTheBase(@TempDir Path dir) throws IOException {
        Map<String, HostTensor> tensors = adapter(8);
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             LoraAdapter a = LoraAdapter.fromHost(LORA, server.config, tensors, m)) {
            PeftAdapterFiles.write(dir, a, "tiny");
        }
        server.server.loadAdapter(dir);
        assertWeightsClose(TestAdapters.mergeByHand(base, LORA, tensors), servedWeights(), 1e-5);
        assertEquals(4, info().getAdapter().getR());
    }

    @Test
    void aPeftAdapterForAnotherModelIsRefusedAndTheBaseKeepsServing(@TempDir Path dir) throws IOException {
        var otherModel = dev.rollout.model.TestModels.llama();
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             LoraAdapter a = LoraAdapter.initialize(LORA, otherModel, 1, m)) {
            PeftAdapterFiles.write(dir, a, "other");
        }
        IOException e = assertThrows(IOException.class, () -> server.server.loadAdapter(dir));
        assertTrue(e.getMessage().contains("lora_A.weight"), e.getMessage());
        assertWeightsClose(base, servedWeights(), 0);
    }
}
