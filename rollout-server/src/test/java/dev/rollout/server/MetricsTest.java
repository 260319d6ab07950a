package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** /metrics, scraped over HTTP as Prometheus does, moves as the server works. */
class MetricsTest {
    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    /** The value of the first sample whose name and labels start with {@code series}; 0 if absent. */
    static double value(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + "(?:[{,][^}]*})?\\s+(\\S+)$").matcher(scrape);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void requestCountersMoveByStatus() throws Exception {
        server.blocking().generateBatch(TestServer.greedy(5, TestServer.tokens(1, 2, 3)));
        try {
            server.blocking().generateBatch(TestServer.greedy(0, TestServer.tokens(1)));
        } catch (StatusRuntimeException expected) {
            // counted as invalid_argument
        }
        String scrape = server.scrape();
        assertEquals(1, value(scrape, "rollout_requests_total{method=\"GenerateBatch\",status=\"ok\"}"), scrape);
        assertEquals(1, value(scrape, "rollout_requests_total{method=\"GenerateBatch\",status=\"invalid_argument\"}"));
    }

    @Test
    void generatedTokensAndWeightSyncMetricsMove() throws Exception {
        server.blocking().generateBatch(TestServer.greedy(7, TestServer.tokens(1, 2, 3)));
        String before = server.scrape();
        assertEquals(7, value(before, "rollout_generated_tokens_total"), before);
        assertEquals(0, value(before, "rollout_weight_version"));
        WeightStream.of(4, false, TestServer.randomWeights(server.config, 2).values(), 1 << 16).send(server.async());
        String after = server.scrape();
        assertEquals(4, value(after, "rollout_weight_version"));
        assertEquals(1, value(after, "rollout_weight_sync_seconds_count"));
        double bytes = TestServer.randomWeights(server.config, 2).values().stream().mapToLong(t -> t.byteSize()).sum();
        assertEquals(bytes, value(after, "rollout_weight_sync_bytes_total"));
        assertEquals(1, value(after, "rollout_requests_total{method=\"SyncWeights\",status=\"ok\"}"));
    }

    @Test
    void engineCountersAndGaugesMove() throws Exception {
        int[] prompt = new int[40];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 10 + i;
        }
        server.blocking().generateBatch(TestServer.greedy(3, TestServer.tokens(prompt)));
        server.blocking().generateBatch(TestServer.greedy(3, TestServer.tokens(prompt)));
        String scrape = server.scrape();
        assertEquals(80, value(scrape, "rollout_prompt_tokens_total"), scrape);
        assertEquals(6, value(scrape, "rollout_generated_tokens_total"));
        // the second request finds the first's two full 16-token blocks of the prompt in the prefix cache
        assertEquals(32, value(scrape, "rollout_prefix_cache_hit_tokens_total"));
        assertEquals(TestServer.NUM_BLOCKS, value(scrape, "rollout_kv_cache_blocks_total"));
        assertEquals(0, value(scrape, "rollout_kv_cache_blocks_used"));
        assertEquals(0, value(scrape, "rollout_running_sequences"));
        assertEquals(0, value(scrape, "rollout_waiting_sequences"));
        assertTrue(value(scrape, "rollout_step_seconds_count") >= 6);
        assertEquals(2, value(scrape, "rollout_time_to_first_token_seconds_count"));
    }

    @Test
    void exposesJvmMetrics() throws Exception {
        assertTrue(server.scrape().contains("jvm_memory_used_bytes"));
    }
}
