package dev.rollout.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.server.ModelLoader;
import dev.rollout.server.RolloutServer;
import dev.rollout.server.ServerOptions;
import dev.rollout.tiny.RandomWeights;
import dev.rollout.weights.HostTensor;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** WeightPusher against a real rollout server: a repeated push of the serving version is recognised by its digest. */
class WeightPusherServerTest {
    private ModelLoader.Loaded loaded;
    private RolloutServer server;
    private RolloutClient client;

    @BeforeEach
    void start() throws Exception {
        loaded = ModelLoader.load("tiny", 1, Device.cpu());
        Engine engine = new Engine(loaded.served().model(), EngineConfig.defaults().withNumBlocks(16).withDevice(Device.cpu()),
                new SimpleMeterRegistry());
        server = RolloutServer.start(loaded.served(), engine, loaded.manager(), new SimpleMeterRegistry(), ServerOptions.defaults(0));
        client = new RolloutClient(ClientConfig.of(List.of(ServerAddress.parse("localhost:" + server.port()))));
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
        loaded.close();
    }

    private List<HostTensor> weights(long seed) {
        return RandomWeights.generate(loaded.served().model().config(), seed);
    }

    @Test
    void repeatingAPushOfTheServingVersionSucceedsAsAlreadyApplied() {
        WeightPusher pusher = new WeightPusher(client);
        assertFalse(pusher.push(1, weights(2), false).get(0).response().getAlreadyApplied());
        ServerSyncResult again = pusher.push(1, weights(2), false).get(0);
        assertTrue(again.response().getAlreadyApplied());
        assertEquals(1, again.response().getVersion());
    }

    @Test
    void theServerAcceptsTheDigestOfWeightsConvertedToBf16OnTheWire() {
        WeightPusher pusher = new WeightPusher(client, PushOptions.DEFAULT.withWireDType(dev.rollout.weights.DType.BF16));
        assertFalse(pusher.push(1, weights(2), false).get(0).response().getAlreadyApplied());
        assertTrue(pusher.push(1, weights(2), false).get(0).response().getAlreadyApplied());
    }

    @Test
    void aPushOfTheServingVersionWithOtherWeightsFailsSayingWhy() {
        WeightPusher pusher = new WeightPusher(client);
        pusher.push(1, weights(2), false);
        WeightPushException e = assertThrows(WeightPushException.class, () -> pusher.push(1, weights(3), false));
        assertTrue(e.getMessage().contains("synced with another header.content_digest"), e.getMessage());
    }
}
