package dev.rollout.trainer.config;

import java.util.ArrayList;
import java.util.List;

/** The combinations TRL accepts but warns about, with TRL's advice; logged when a config is read. */
public final class ConfigWarnings {
    private ConfigWarnings() {
    }

    public static List<String> of(TrainerConfig c) {
        List<String> out = new ArrayList<>();
        if (c.trainer() != TrainerType.GRPO) {
            return out;
        }
        LossType loss = c.lossType();
        ImportanceSamplingLevel level = c.importanceSamplingLevel();
        if (loss == LossType.LUSPO && level != ImportanceSamplingLevel.SEQUENCE) {
            out.add("loss_type luspo: importance_sampling_level should be 'sequence' to mirror the LUSPO paper's setup");
        }
        if (loss == LossType.VESPO && level != ImportanceSamplingLevel.TOKEN) {
            out.add("loss_type vespo computes sequence-level importance weights itself: importance_sampling_level should"
                    + " be 'token' (the default)");
        }
        if (level == ImportanceSamplingLevel.SEQUENCE && (loss == LossType.BNPO || loss == LossType.DR_GRPO
                || loss == LossType.DAPO || loss == LossType.CISPO)) {
            out.add("importance_sampling_level 'sequence' with loss_type '" + loss.configName() + "': the loss sums"
                    + " per-token contributions, which weights each sequence by its completion length instead of"
                    + " optimizing the per-sequence objective; to reproduce the GSPO paper's setup, set loss_type 'grpo'");
        }
        return out;
    }
}
