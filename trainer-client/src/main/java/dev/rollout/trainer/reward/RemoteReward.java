package dev.rollout.trainer.reward;

import dev.rollout.trainer.config.ConfigException;
import dev.rollout.trainer.config.RewardErrors;
import dev.rollout.trainer.config.TrainerConfig;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A reward service: a {@code reward_funcs} entry that is an http(s) URL. Each generation batch goes out as JSON POSTs
 * of {@code remote_rewards.batch_size} completions (all of them when 0), at most {@code max_concurrency} in flight;
 * a request that fails to connect, times out or gets HTTP 429/5xx is retried with doubling backoff. Every failure
 * names the URL, the completions and what came back.
 */
final class RemoteReward implements BatchReward {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteReward.class);

    /** How requests go out; {@code token} is the bearer token, or null for none. */
    record Settings(Duration timeout, int maxAttempts, Duration backoff, int batchSize, int maxConcurrency, String token) {
    }

    private final String url;
    private final String name;
    private final URI uri;
    private final Settings settings;
    private final HttpClient client;
    private final ExecutorService requests;

    RemoteReward(String url, String name, Settings settings) {
        this.url = url;
        this.name = name;
        this.uri = parse(url);
        this.settings = settings;
        this.requests = Executors.newFixedThreadPool(settings.maxConcurrency(), r -> {
            Thread t = new Thread(r, "reward-service " + name);
            t.setDaemon(true); // a run that ends leaves no thread behind to keep the JVM up
            return t;
        });
        // the client's own executor: sharing this pool would let blocked callers starve the client's response handling
        this.client = HttpClient.newBuilder().connectTimeout(settings.timeout()).build();
    }

    static RemoteReward fromConfig(String url, String name, TrainerConfig config) {
        String token = null;
        String tokenFile = config.remoteRewardsAuthTokenFile();
        if (tokenFile != null) {
            try {
                token = Files.readString(Path.of(tokenFile), StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new ConfigException("remote_rewards.auth_token_file", "cannot read '" + tokenFile + "': " + e);
            }
            if (token.isEmpty()) {
                throw new ConfigException("remote_rewards.auth_token_file", "'" + tokenFile + "' is empty");
            }
        }
        return new RemoteReward(url, name, new Settings(seconds(config.remoteRewardsTimeoutSeconds()),
                config.remoteRewardsMaxAttempts(), seconds(config.remoteRewardsRetryBackoffSeconds()),
                config.remoteRewardsBatchSize(), config.remoteRewardsMaxConcurrency(), token));
    }

    /** The metric name a URL gets when reward_names gives none: its last path segment, else its host. */
    static String defaultName(String url) {
        URI u = parse(url);
        String[] segments = u.getPath() == null ? new String[0] : u.getPath().split("/");
        for (int i = segments.length - 1; i >= 0; i--) {
            if (!segments[i].isBlank()) {
                return segments[i];
            }
        }
        return u.getHost();
    }

    private static URI parse(String url) {
        try {
            URI u = new URI(url);
            if (u.getHost() == null) {
                throw new ConfigException("reward_funcs", "'" + url + "' has no host; write e.g. http://127.0.0.1:8000/score");
            }
            return u;
        } catch (URISyntaxException e) {
            throw new ConfigException("reward_funcs", "'" + url + "' is not a valid URL: " + e.getMessage());
        }
    }

    @Override
    public String entry() {
        return url;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Scores score(List<ScoredCompletion> batch, RewardErrors errors) {
        int size = settings.batchSize() == 0 ? Math.max(1, batch.size()) : settings.batchSize();
        List<Future<double[]>> answers = new ArrayList<>();
        for (int from = 0; from < batch.size(); from += size) {
            List<ScoredCompletion> part = batch.subList(from, Math.min(batch.size(), from + size));
            int first = from;
            answers.add(requests.submit(() -> call(part, first)));
        }
        double[] values = new double[batch.size()];
        int failed = 0;
        for (int p = 0; p < answers.size(); p++) {
            int from = p * size;
            int count = Math.min(size, batch.size() - from);
            try {
                System.arraycopy(answers.get(p).get(), 0, values, from, count);
            } catch (ExecutionException e) {
                RewardException failure = e.getCause() instanceof RewardException r ? r
                        : new RewardException("reward service " + url + " failed: " + PerCompletionReward.describe(e.getCause()), e.getCause());
                if (errors == RewardErrors.RAISE) {
                    answers.forEach(f -> f.cancel(true));
                    throw new RewardException(failure.getMessage()
                            + " (reward_errors: nan scores such completions NaN instead)", failure.getCause());
                }
                LOG.warn("{}; {} completions scored NaN (reward_errors: nan)", failure.getMessage(), count);
                Arrays.fill(values, from, from + count, Double.NaN);
                failed += count;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                answers.forEach(f -> f.cancel(true));
                throw new RewardException("interrupted while waiting for reward service " + url, e);
            }
        }
        return new Scores(values, failed);
    }

    /** One request with its retries; the rewards of {@code part}, whose first completion is {@code first} of the batch. */
    private double[] call(List<ScoredCompletion> part, int first) throws InterruptedException {
        String which = "reward service " + url + " (completions " + first + "-" + (first + part.size() - 1) + ")";
        HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                .timeout(settings.timeout())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(RewardServiceCall.request(part)));
        if (settings.token() != null) {
            request.header("Authorization", "Bearer " + settings.token());
        }
        String last = null;
        for (int attempt = 1; attempt <= settings.maxAttempts(); attempt++) {
            try {
                HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status >= 200 && status < 300) {
                    return RewardServiceCall.rewards(response.body(), part.size());
                }
                last = "answered HTTP " + status + ": " + RewardServiceCall.shown(response.body());
                if (status != 429 && status < 500) {
                    throw new RewardException(which + " " + last + " (not retried: the request itself was refused)");
                }
            } catch (RewardServiceCall.BadAnswer e) {
                throw new RewardException(which + " " + e.getMessage());
            } catch (HttpTimeoutException e) {
                last = "did not answer within " + settings.timeout().toMillis() / 1000.0 + " s (remote_rewards.timeout_seconds)";
            } catch (IOException e) {
                last = "cannot be reached: " + PerCompletionReward.describe(e);
            }
            if (attempt < settings.maxAttempts()) {
                long delay = settings.backoff().toMillis() << Math.min(attempt - 1, 20);
                LOG.warn("{} {}; attempt {} of {}, retrying in {} ms", which, last, attempt, settings.maxAttempts(), delay);
                Thread.sleep(delay);
            }
        }
        throw new RewardException(which + " " + last + " (after " + settings.maxAttempts() + " attempts)");
    }

    private static Duration seconds(double s) {
        return Duration.ofNanos((long) (s * 1e9));
    }
}
