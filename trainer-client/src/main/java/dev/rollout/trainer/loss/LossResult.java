package dev.rollout.trainer.loss;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * A scalar loss to call backward on, and the statistics TRL logs for it (named as TRL names them).
 *
 * @param loss  scalar, already divided for gradient accumulation, so summing it over a step's micro-batches gives
 *              the step's loss
 * @param stats {@code loss} (the value of {@link #loss}), {@code entropy}, {@code kl} (when β ≠ 0),
 *              {@code clip_ratio/low_mean|high_mean|region_mean|low_min|high_max}
 */
public record LossResult(NDArray loss, Map<String, Double> stats) {
}
