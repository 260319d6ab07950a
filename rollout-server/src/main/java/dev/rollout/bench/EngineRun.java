package dev.rollout.bench;

import dev.rollout.engine.CompletionResult;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.engine.EngineStats;
import dev.rollout.engine.GenerationRequest;
import dev.rollout.engine.RequestHandle;
import dev.rollout.engine.SamplingParams;
import dev.rollout.model.CausalLM;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs a {@link Workload} on a fresh engine and measures it: wall time from the moment the engine may start on the
 * workload until the last completion is back.
 *
 * <p>Two details keep the comparison fair. <b>All at once</b>: the static scheduler forms its batch from whatever is
 * queued when it steps, so the requests must all be queued before it looks. A one-token gate request is run first; its
 * completion callback (on the engine thread) holds the engine while every request is submitted, and releasing it starts
 * the clock. <b>Shared prompts</b>: each completion is its own request (its own forced length), so for the samples of a
 * prompt to share the prompt's KV as the n samples of one request would, continuous batching gets each prompt's first
 * sample first and the others once the engine reports those prompts computed; they then find the prompt in the prefix
 * cache. The static baseline, like {@code generate()}, prefills every row itself.
 */
final class EngineRun {
    private static final long TIMEOUT_MINUTES = 60;
    /** Cache blocks the caller adds to a reservation for the gate request's single token. */
    static final int GATE_BLOCKS = 1;

    private EngineRun() {}

    static RunResult run(CausalLM model, EngineConfig config, Workload workload) {
        EngineConfig.SchedulerKind kind = config.scheduler();
        List<Workload.Sample> samples = workload.samples();
        List<Workload.Sample> firstWave = new ArrayList<>();
        List<Workload.Sample> rest = new ArrayList<>();
        for (Workload.Sample s : samples) {
            (kind == EngineConfig.SchedulerKind.CONTINUOUS && s.sampleIndex() == 0 ? firstWave : rest).add(s);
        }
        try (Engine engine = new Engine(model, config, null)) {
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            RequestHandle gate = engine.submit(new GenerationRequest("bench-gate", List.of(new int[] {1}),
                    SamplingParams.greedy(1), c -> {
                        held.countDown();
                        awaitUninterruptibly(release);
                    }));
            awaitUninterruptibly(held);
            List<RequestHandle> handles = new ArrayList<>(samples.size());
            long firstWavePromptTokens = 0;
            for (Workload.Sample s : firstWave) {
                handles.add(engine.submit(workload.request(s)));
                firstWavePromptTokens += workload.prompts().get(s.promptIndex()).length;
            }
            if (firstWave.isEmpty()) {
                for (Workload.Sample s : rest) {
                    handles.add(engine.submit(workload.request(s)));
                }
            }
            boolean peakReset = ProcessMemory.resetPeak();
            long start = System.nanoTime();
            release.countDown();
            await(gate);
            if (!firstWave.isEmpty()) {
                // The gate's one prompt token is counted too.
                while (engine.stats().computedPromptTokens() < 1 + firstWavePromptTokens) {
                    LockSupport.parkNanos(200_000);
                }
                for (Workload.Sample s : rest) {
                    handles.add(engine.submit(workload.request(s)));
                }
            }
            long outputTokens = 0;
            for (RequestHandle h : handles) {
                for (CompletionResult c : await(h)) {
                    outputTokens += c.tokenIds().length;
                }
            }
            double wall = (System.nanoTime() - start) / 1e9;
            long peakRss = peakReset ? ProcessMemory.peakRssBytes() : -1;
            EngineStats stats = engine.stats();
            long cacheBytes = engine.cacheInfo().bytes();
            // Static's figure is its dense reservation: the cache less the gate's block.
            long peakKv = kind == EngineConfig.SchedulerKind.STATIC
                    ? cacheBytes / config.numBlocks() * (config.numBlocks() - GATE_BLOCKS) : stats.peakKvCacheBytes();
            return new RunResult(kind, wall, outputTokens, peakKv, cacheBytes, peakRss, stats.cacheHitTokens(),
                    stats.computedPromptTokens() - 1, stats.preemptions(), stats.steps() - 1);
        }
    }

    private static List<CompletionResult> await(RequestHandle handle) {
        try {
            return handle.result().get(TIMEOUT_MINUTES, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the engine", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("the engine failed a benchmark request: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("a benchmark request did not finish within " + TIMEOUT_MINUTES + " minutes", e);
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
