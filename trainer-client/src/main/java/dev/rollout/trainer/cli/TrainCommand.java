package dev.rollout.trainer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.client.RolloutClient;
import dev.rollout.model.NativeAllocator;
import dev.rollout.model.TorchThreads;
import dev.rollout.server.MetricsServer;
import dev.rollout.trainer.TrainingRun;
import dev.rollout.trainer.config.RolloutMode;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.Rollouts;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code trainer train --config FILE.yaml [--set key=value ...] [--resume DIR]}. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Train with GRPO or RLOO as the YAML config says (TRL's option names; see docs/configuration.md). "
                + "Writes metrics.jsonl, checkpoints (Hugging Face layout plus optimizer state) and a reward plot to output_dir.")
public final class TrainCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE.yaml", description = "The training config.")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override a config key (dotted for sections, e.g. rollout.servers=host:50051). Repeatable.")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--server", paramLabel = "HOST:PORT[,HOST:PORT...]",
            description = "The rollout servers to train against: shorthand for --set rollout.servers=[...] (server mode). "
                    + "Replaces the config file's rollout.servers; refused together with --set rollout.servers or "
                    + "rollout.mode colocate.")
    String server;

    @Option(names = "--resume", paramLabel = "DIR",
            description = "Continue from a checkpoint this trainer saved (output_dir/checkpoint-N): weights, optimizer, step.")
    Path resume;

    @Option(names = "--reward-classpath", paramLabel = "PATHS",
            description = "Jars or class directories holding reward classes named in reward_funcs, separated by '"
                    + "${sys:path.separator}' as in java -cp; added to the config's reward_classpath. Repeatable.")
    List<String> rewardClasspath = new ArrayList<>();

    @Option(names = "--metrics-port", defaultValue = "9401",
            description = "HTTP port of the trainer's /metrics (0: any free port, -1: none). Default: ${DEFAULT-VALUE}.")
    int metricsPort;

    /** The config file with --set and --server applied. */
    private TrainerConfig loadConfig() throws java.io.IOException {
        List<String> sets = withRewardClasspath();
        TrainerConfig loaded = TrainerConfig.load(config, sets);
        if (server == null) {
            return loaded;
        }
        try {
            return TrainerConfig.load(config, ServerOption.overrides(server, loaded, sets));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    @Override
    public Integer call() throws Exception {
        TrainerConfig cfg = loadConfig();
        LOG.info("libtorch uses {} thread(s) per op", TorchThreads.configure());
        LOG.info("native memory allocator: {}", NativeAllocator.describe());
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (MetricsServer metrics = metricsPort < 0 ? null : new MetricsServer(registry, metricsPort);
             TrainingRun run = new TrainingRun(cfg, resume, registry, Rollouts::create)) {
            if (metrics != null) {
                LOG.info("trainer metrics on http://localhost:{}/metrics", metrics.port());
            }
            run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
            ProgressLine progress = new ProgressLine(System.out, run.totalSteps(), 0);
            run.train(0, r -> {
                if (r.step() % cfg.loggingSteps() == 0 || r.step() == run.totalSteps()) {
                    progress.print(r.step(), r.metrics());
                }
            });
            Path last = run.save();
            TrainingPlot.write(Path.of(cfg.outputDir()).resolve("reward.png"), "Rollout " + cfg.trainer().name().toLowerCase()
                    + " on " + cfg.model(), run.points());
            System.out.println("done: " + run.state().step() + " steps; final checkpoint " + last);
        }
        return 0;
    }

    /** The overrides, plus the config's reward_classpath extended by --reward-classpath. */
    private List<String> withRewardClasspath() throws IOException {
        if (rewardClasspath.isEmpty()) {
            return overrides;
        }
        List<String> paths = new ArrayList<>(TrainerConfig.load(config, overrides).rewardClasspath());
        for (String option : rewardClasspath) {
            for (String path : option.split(Pattern.quote(File.pathSeparator))) {
                if (!path.isBlank()) {
                    paths.add(path.strip());
                }
            }
        }
        List<String> out = new ArrayList<>(overrides);
        // a JSON list of JSON strings is a YAML flow list, whatever characters the paths hold
        out.add("reward_classpath=" + new ObjectMapper().valueToTree(paths));
        return out;
    }
}
