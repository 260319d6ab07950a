package dev.rollout.trainer.reward;

import dev.rollout.trainer.config.RewardErrors;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A {@link RewardFunction} run over a batch, one completion at a time, with the config's error policy. */
final class PerCompletionReward implements BatchReward {
    private static final Logger LOG = LoggerFactory.getLogger(PerCompletionReward.class);

    private final String entry;
    private final String name;
    private final RewardFunction function;

    PerCompletionReward(String entry, String name, RewardFunction function) {
        this.entry = entry;
        this.name = name;
        this.function = function;
    }

    @Override
    public String entry() {
        return entry;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Scores score(List<ScoredCompletion> batch, RewardErrors errors) {
        double[] values = new double[batch.size()];
        int failed = 0;
        for (int i = 0; i < batch.size(); i++) {
            ScoredCompletion c = batch.get(i);
            try {
                Double r = function.score(c.prompt(), c.completion(), c.completionIds(), c.row());
                if (r != null && Double.isInfinite(r)) {
                    // an infinite reward would turn every advantage of its group into NaN
                    throw new ArithmeticException("returned " + r);
                }
                values[i] = r == null ? Double.NaN : r;
            } catch (RuntimeException e) {
                String message = "reward function '" + entry + "' failed on completion " + i + ": " + describe(e);
                if (errors == RewardErrors.RAISE) {
                    throw new RewardException(message + " (reward_errors: nan scores such completions NaN instead)", e);
                }
                LOG.warn("{}; scored NaN (reward_errors: nan)", message);
                values[i] = Double.NaN;
                failed++;
            }
        }
        return new Scores(values, failed);
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getName() : e.getClass().getSimpleName() + ": " + m;
    }
}
