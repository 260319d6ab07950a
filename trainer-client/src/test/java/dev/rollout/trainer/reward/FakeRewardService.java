package dev.rollout.trainer.reward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** A reward service on a loopback port the OS picks; a handler decides each answer, and every request is kept. */
final class FakeRewardService implements AutoCloseable {
    /** A request as received: its JSON body and its Authorization header (null when absent). */
    record Received(JsonNode body, String authorization) {}

    /** The answer to a request: an HTTP status and a body. */
    record Answer(int status, String body) {}

    @FunctionalInterface
    interface Handler {
        Answer answer(Received request, int index) throws Exception;
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    final List<Received> received = new CopyOnWriteArrayList<>();
    private final HttpServer server;
    private final ExecutorService threads = Executors.newFixedThreadPool(8);

    FakeRewardService(Handler handler) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(threads);
        server.createContext("/score", exchange -> {
            Answer answer;
            try {
                Received r = new Received(JSON.readTree(exchange.getRequestBody()),
                        exchange.getRequestHeaders().getFirst("Authorization"));
                int index;
                synchronized (received) {
                    received.add(r);
                    index = received.size() - 1;
                }
                answer = handler.answer(r, index);
            } catch (Exception e) {
                answer = new Answer(599, "handler failed: " + e);
            }
            reply(exchange, answer);
        });
        server.start();
    }

    /** Rewards as the service's JSON answer, {@code {"rewards": [...]}}. */
    static Answer rewards(Object... values) {
        try {
            return new Answer(200, JSON.writeValueAsString(java.util.Map.of("rewards", java.util.Arrays.asList(values))));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/score";
    }

    private static void reply(HttpExchange exchange, Answer answer) throws IOException {
        byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(answer.status(), body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
