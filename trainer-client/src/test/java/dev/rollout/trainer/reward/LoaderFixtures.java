package dev.rollout.trainer.reward;

import java.util.Map;

/** Reward classes the loader tests name by their binary names, as a config would. */
final class LoaderFixtures {
    static final String PREFIX = LoaderFixtures.class.getName() + "$";

    private LoaderFixtures() {
    }

    /** The {@code value} of its kwargs, for every completion. */
    public static final class Constant implements RewardFunction {
        private final double value;

        public Constant(Map<String, Object> kwargs) {
            this.value = ((Number) kwargs.getOrDefault("value", 1.0)).doubleValue();
        }

        @Override
        public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
            return value;
        }
    }

    public static final class NoArguments implements RewardFunction {
        @Override
        public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
            return 0.5;
        }
    }

    public static final class Named implements RewardFunction {
        @Override
        public String name() {
            return "my_reward";
        }

        @Override
        public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
            return 1.0;
        }
    }

    /** Fails on the completion "bad". */
    public static final class FailsOnBad implements RewardFunction {
        @Override
        public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
            if (completion.equals("bad")) {
                throw new IllegalArgumentException("cannot score 'bad'");
            }
            return 1.0;
        }
    }

    public static final class Infinite implements RewardFunction {
        @Override
        public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
            return Double.POSITIVE_INFINITY;
        }
    }

    public static final class ThrowsInConstructor implements RewardFunction {
        public ThrowsInConstructor() {
            throw new IllegalStateException("no model file");
        }

        @Override
        public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
            return 0.0;
        }
    }

    public static final class NotAReward {
    }
}
