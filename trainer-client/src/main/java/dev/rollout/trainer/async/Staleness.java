package dev.rollout.trainer.async;

import dev.rollout.proto.v1.Completion;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How far behind the training policy the sampled tokens are, in weight versions, per token: the mean and the
 * largest over a generation batch's completion tokens.
 */
public record Staleness(double mean, long max) {

    public static Staleness of(List<Completion> completions, long policyVersion) {
        long sum = 0;
        long count = 0;
        long max = 0;
        for (Completion c : completions) {
            for (long v : Group.tokenVersions(c)) {
                long s = StalenessBudget.staleness(policyVersion, v);
                sum += s;
                max = Math.max(max, s);
                count++;
            }
        }
        return new Staleness(count == 0 ? 0 : (double) sum / count, max);
    }

    /** {@code staleness/mean} and {@code staleness/max}. */
    public Map<String, Double> metrics() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("staleness/mean", mean);
        m.put("staleness/max", (double) max);
        return m;
    }
}
