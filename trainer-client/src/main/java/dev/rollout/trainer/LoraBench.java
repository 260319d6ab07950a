package dev.rollout.trainer;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.FinishReason;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.RolloutSource;
import dev.rollout.trainer.rollout.Rollouts;
import dev.rollout.trainer.rollout.ServerProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * LoRA against full fine-tuning on a preset: GRPO steps whose completions are synthetic token ids (so a preset with
 * random weights and a small tokenizer can be trained), with the real trainer step and the real weight push to a
 * rollout server in its own process. Prints per step: step time, train time, sync time and bytes pushed; at the end the
 * trainer process's peak resident memory.
 *
 * <p>{@code bin/launch.sh dev.rollout.trainer.LoraBench MODEL lora|full STEPS PORT [key=value ...]}
 */
public final class LoraBench {
    private LoraBench() {}

    public static void main(String[] args) throws Exception {
        String model = args[0];
        boolean lora = "lora".equals(args[1]);
        int steps = Integer.parseInt(args[2]);
        int port = Integer.parseInt(args[3]);
        Path dir = Files.createTempDirectory("lora-bench-");
        List<String> overrides = new ArrayList<>(List.of("model=" + model, "max_steps=" + steps, "output_dir=" + dir,
                "rollout.servers=[localhost:" + port + "]", "device=cpu", "num_generations=4",
                "per_device_train_batch_size=8", "max_completion_length=16", "learning_rate=1e-5", "save_steps=0",
                "vllm_importance_sampling_correction=false", "dataset=addition"));
        if (lora) {
            overrides.addAll(List.of("use_peft=true", "lora_r=16", "lora_target_modules=[all-linear]"));
        }
        for (int i = 4; i < args.length; i++) {
            overrides.add(args[i]);
        }
        TrainerConfig config = TrainerConfig.defaults(overrides);
        try (ServerProcess server = ServerProcess.start(List.of("--model", model, "--port", Integer.toString(port),
                "--metrics-port", Integer.toString(port + 1), "--num-blocks", "64"), port, port + 1, dir.resolve("server.log"));
             TrainingRun run = new TrainingRun(config, null, new SimpleMeterRegistry(),
                     (c, policy, m) -> new Synthetic(Rollouts.create(c, policy, m)))) {
            run.publishInitialWeights(0);
            System.out.println("step  step_s  train_s  sync_s  sync_bytes");
            run.train(0, (StepRecord r) -> System.out.printf(Locale.ROOT, "%4d  %6.2f  %7.2f  %6.3f  %d%n", r.step(),
                    r.metrics().get("step_time"), r.metrics().get("time/train"), r.metrics().get("time/sync"), r.publishedBytes()));
            server.stop();
        }
        // the trainer's own peak (the server is another process): VmHWM, the high-water mark of its resident set
        Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM"))
                .forEach(l -> System.out.println("trainer peak RSS " + l.replaceAll("\\s+", " ")));
    }

    /** Completions made up from the prompts' count: random token ids below 256 and a random digit as text. */
    private static final class Synthetic implements RolloutSource {
        private final RolloutSource publisher;
        private final SplittableRandom rng = new SplittableRandom(1);

        Synthetic(RolloutSource publisher) {
            this.publisher = publisher;
        }

        @Override
        public GenerateBatchResponse generate(List<Prompt> prompts, SamplingParams sampling, long minWeightVersion) {
            GenerateBatchResponse.Builder b = GenerateBatchResponse.newBuilder();
            for (int p = 0; p < prompts.size(); p++) {
                for (int s = 0; s < sampling.getN(); s++) {
                    Completion.Builder c = Completion.newBuilder().setPromptIndex(p).setSampleIndex(s)
                            .setText(Integer.toString(rng.nextInt(19))).setFinishReason(FinishReason.FINISH_REASON_LENGTH);
                    for (int t = 0; t < 6; t++) {
                        c.addPromptTokenIds(1 + rng.nextInt(255));
                    }
                    for (int t = 0; t < sampling.getMaxTokens(); t++) {
                        c.addTokenIds(1 + rng.nextInt(255)).addLogprobs(-1f);
                    }
                    b.addCompletions(c);
                }
            }
            return b.build();
        }

        @Override
        public Publication publish(long version) {
            return publisher.publish(version);
        }

        @Override
        public String describe() {
            return "synthetic completions, " + publisher.describe();
        }

        @Override
        public void close() {
            publisher.close();
        }
    }
}
