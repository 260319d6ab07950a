package dev.rollout.chaos;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.DType;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.TensorChunk;
import dev.rollout.proto.v1.TensorSpec;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The campaign's own parts do what the report says they did: mutations, faulty syncs, tallies, log counts, targets. */
class ChaosMachineryTest {
    private static final ModelInfo MODEL = ModelInfo.newBuilder().setVocabSize(512).setMaxContextLength(1024)
            .addTensors(TensorSpec.newBuilder().setName("model.norm.weight").setDtype(DType.DTYPE_FLOAT32).addShape(64))
            .addTensors(TensorSpec.newBuilder().setName("model.embed_tokens.weight").setDtype(DType.DTYPE_FLOAT32).addShape(512).addShape(128))
            .addTensors(TensorSpec.newBuilder().setName("lm_head.weight").setDtype(DType.DTYPE_FLOAT32).addShape(512).addShape(128))
            .build();

    @Test
    void theSameSeedGivesTheSameMutations() {
        byte[] message = ChaosTarget.PROBE.toByteArray();
        ByteMutator a = new ByteMutator(5);
        ByteMutator b = new ByteMutator(5);
        for (int i = 0; i < 50; i++) {
            assertArrayEquals(a.mutate(message), b.mutate(message));
        }
    }

    @Test
    void aMutationNeverReturnsTheMessageUnchanged() {
        ByteMutator m = new ByteMutator(9);
        byte[] message = ChaosTarget.PROBE.toByteArray();
        for (int i = 0; i < 500; i++) {
            assertFalse(java.util.Arrays.equals(message, m.mutate(message)));
        }
        assertTrue(m.mutate(new byte[0]).length > 0, "an empty message mutates into some bytes");
    }

    @Test
    void aValidSyncStreamCarriesEveryTensorWithItsCrcOnTheLastChunk() {
        List<SyncWeightsChunk> s = SyncStreams.stream(MODEL.getTensorsList(), 3, false, 1, 4096);
        assertEquals(3, s.get(0).getHeader().getVersion());
        assertEquals(3, s.get(0).getHeader().getTensorCount());
        ByteArrayOutputStream embed = new ByteArrayOutputStream();
        int crc = 0;
        for (SyncWeightsChunk c : s.subList(1, s.size())) {
            if (c.getTensor().getName().equals("model.embed_tokens.weight")) {
                assertEquals(embed.size(), c.getTensor().getOffset());
                embed.writeBytes(c.getTensor().getData().toByteArray());
                crc = c.getTensor().getLast() ? c.getTensor().getCrc32C() : crc;
            }
        }
        assertEquals(512 * 128 * 4, embed.size());
        assertEquals(SyncStreams.crc32c(embed.toByteArray()), crc);
    }

    @ParameterizedTest
    @EnumSource(SyncFault.class)
    void everySyncFaultChangesTheValidStreamTheSameWayForTheSameSeed(SyncFault fault) {
        List<SyncWeightsChunk> valid = SyncStreams.stream(MODEL.getTensorsList(), 4, false, 1, 8192);
        List<SyncWeightsChunk> once = fault.apply(valid, 3, new SplittableRandom(2));
        assertNotEquals(valid, once);
        assertEquals(once, fault.apply(valid, 3, new SplittableRandom(2)));
    }

    @Test
    void theNonFiniteFaultKeepsTheCrcRightSoOnlyTheValuesAreWrong() {
        List<SyncWeightsChunk> valid = SyncStreams.stream(MODEL.getTensorsList(), 4, false, 1, 8192);
        List<SyncWeightsChunk> bad = SyncFault.NON_FINITE.apply(valid, 3, new SplittableRandom(3));
        boolean sawNonFinite = false;
        for (TensorSpec spec : MODEL.getTensorsList()) {
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            int crc = 0;
            for (SyncWeightsChunk c : bad.subList(1, bad.size())) {
                TensorChunk t = c.getTensor();
                if (t.getName().equals(spec.getName())) {
                    data.writeBytes(t.getData().toByteArray());
                    crc = t.getLast() ? t.getCrc32C() : crc;
                }
            }
            assertEquals(SyncStreams.crc32c(data.toByteArray()), crc, spec.getName());
            ByteBuffer floats = ByteBuffer.wrap(data.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
            while (floats.hasRemaining()) {
                sawNonFinite |= !Float.isFinite(floats.getFloat());
            }
        }
        assertTrue(sawNonFinite);
    }

    @Test
    void unknownIsAlwaysAFailureAndOtherCodesAreTallied() {
        CheckResult r = new CheckResult("t");
        r.count("GetModelInfo", Status.INTERNAL.withDescription("cannot parse"));
        r.count("GetModelInfo", Status.INVALID_ARGUMENT);
        assertTrue(r.passed());
        r.count("GetModelInfo", Status.UNKNOWN.withDescription("Application error processing RPC"));
        assertFalse(r.passed());
        assertEquals(3, r.total());
        assertEquals(1, r.outcome("GetModelInfo UNKNOWN"));
    }

    @Test
    void repeatedFailuresAreCountedUnderOneMessage() {
        CheckResult r = new CheckResult("t");
        for (int i = 0; i < 100; i++) {
            r.fail("same");
        }
        for (int i = 0; i < 100; i++) {
            r.fail("distinct " + i);
        }
        assertEquals(200, r.failureCount());
        assertEquals(100L, r.failures().get("same"));
        assertTrue(r.failures().size() <= 25);
    }

    @Test
    void theLogPatternMatchesWarnAndErrorRecordsOfBothLoggersOnly() {
        assertTrue(ServerLog.WARN_OR_ERROR.matcher("[main] WARN dev.rollout.X - slow").find());
        assertTrue(ServerLog.WARN_OR_ERROR.matcher("[grpc-default-executor-1] ERROR dev.rollout.X - failed").find());
        assertTrue(ServerLog.WARN_OR_ERROR.matcher("SEVERE: Exception while executing runnable").find());
        assertTrue(ServerLog.WARN_OR_ERROR.matcher("WARNING: Using incubator modules").find());
        assertFalse(ServerLog.WARN_OR_ERROR.matcher("[main] INFO dev.rollout.X - a WARN in the text").find());
        assertFalse(ServerLog.WARN_OR_ERROR.matcher("\tat io.grpc.internal.ServerImpl.run(ServerImpl.java:1)").find());
    }

    @Test
    void aServerLogFileCountsOnlyLinesWrittenAfterTheStart(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("server.log");
        Files.writeString(file, "[main] WARN x - before the run\n");
        ServerLog log = ServerLog.tail(file);
        Files.writeString(file, "[main] ERROR x - during\n[main] INFO x - fine\nSEVERE: during\n", java.nio.file.StandardOpenOption.APPEND);
        assertEquals(2, log.warnOrErrorLines());
    }

    @Test
    void aTargetOffLoopbackIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ChaosTarget.connect("192.0.2.10:50051", null, null));
        assertTrue(e.getMessage().contains("loopback"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ChaosTarget.connect("localhost", null, null));
    }

    @Test
    void anUnknownCheckNameIsRefusedWithTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ChaosCampaign.Check.parse(List.of("fuzz", "fuzzz")));
        assertTrue(e.getMessage().contains("validation, syncs, fuzz, clients"), e.getMessage());
    }

    @Test
    void completionsAreCheckedForCountAndFiniteLogprobs() {
        GenerateBatchRequest request = ConcurrencyCheck.randomRequest(MODEL, new SplittableRandom(1)).toBuilder()
                .setSampling(dev.rollout.proto.v1.SamplingParams.newBuilder().setN(2).setMaxTokens(3)).clearPrompts()
                .addPrompts(BadRequests.tokens(1, 2)).build();
        Completion good = Completion.newBuilder().addTokenIds(4).addLogprobs(-0.5f).build();
        assertNull(ConcurrencyCheck.checkCompletions(request, List.of(good, good.toBuilder().setSampleIndex(1).build())));
        assertNotNull(ConcurrencyCheck.checkCompletions(request, List.of(good)), "one sample missing");
        Completion nan = good.toBuilder().setSampleIndex(1).setLogprobs(0, Float.NaN).build();
        assertNotNull(ConcurrencyCheck.checkCompletions(request, List.of(good, nan)), "a NaN log-prob");
    }
}
