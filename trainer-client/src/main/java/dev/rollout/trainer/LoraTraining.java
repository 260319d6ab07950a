package dev.rollout.trainer;

import ai.djl.ndarray.NDManager;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.lora.PeftAdapterFiles;
import dev.rollout.model.ModelConfig;
import dev.rollout.trainer.config.TrainerConfig;
import java.io.IOException;
import java.nio.file.Path;

/** The adapter a LoRA run trains: fresh from the config's lora_* keys, or the one a checkpoint saved. */
final class LoraTraining {
    private LoraTraining() {}

    static LoraAdapter adapter(TrainerConfig config, ModelConfig model, Path resumeFrom, NDManager manager) throws IOException {
        LoraConfig wanted = config.loraConfig();
        if (resumeFrom == null) {
            return LoraAdapter.initialize(wanted, model, config.seed(), manager);
        }
        LoraAdapter saved = PeftAdapterFiles.read(resumeFrom, model, manager);
        LoraConfig got = saved.config();
        if (!got.equals(wanted)) {
            saved.close();
            throw new IOException(resumeFrom + " holds an adapter of rank " + got.r() + ", alpha " + got.alpha() + " on "
                    + got.targetModuleNames() + (got.useRslora() ? " (rsLoRA)" : "") + ", dropout " + got.dropout() + ", but the config asks for rank "
                    + wanted.r() + ", alpha " + wanted.alpha() + " on " + wanted.targetModuleNames()
                    + (wanted.useRslora() ? " (rsLoRA)" : "") + ", dropout " + wanted.dropout() + ": resume with the settings it was trained with");
        }
        return saved;
    }
}
