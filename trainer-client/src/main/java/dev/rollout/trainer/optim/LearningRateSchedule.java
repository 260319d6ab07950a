package dev.rollout.trainer.optim;

/**
 * The learning rate at each optimizer step, as transformers' schedulers compute it (step counted from 0): linear
 * warm-up from 0 over {@code warmupSteps}, then constant or a linear decay that reaches 0 at {@code totalSteps}.
 */
public record LearningRateSchedule(double peak, String type, int warmupSteps, int totalSteps) {

    public LearningRateSchedule {
        if (!type.equals("linear") && !type.equals("constant")) {
            throw new IllegalArgumentException("lr_scheduler_type must be linear or constant, got " + type);
        }
        if (totalSteps < 1) {
            throw new IllegalArgumentException("the schedule needs at least one step, got " + totalSteps);
        }
    }

    public double at(int step) {
        if (step < warmupSteps) {
            return peak * step / Math.max(1, warmupSteps);
        }
        if (type.equals("constant")) {
            return peak;
        }
        return peak * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
    }
}
