package dev.rollout.model;

import ai.djl.Device;

/** The {@code auto|cpu|gpu} choice of the server's {@code --device} and the trainer's {@code device} key. */
public final class Devices {
    private Devices() {}

    public static Device parse(String value) {
        int gpus = ai.djl.engine.Engine.getInstance().getGpuCount();
        return switch (value) {
            case "auto" -> gpus > 0 ? Device.gpu() : Device.cpu();
            case "cpu" -> Device.cpu();
            case "gpu" -> {
                if (gpus == 0) {
                    throw new IllegalArgumentException("device gpu, but no GPU is visible to PyTorch (is the CUDA build of "
                            + "libtorch on the classpath and CUDA_VISIBLE_DEVICES set?); use cpu or auto");
                }
                yield Device.gpu();
            }
            default -> throw new IllegalArgumentException("device must be auto, cpu or gpu, got '" + value + "'");
        };
    }
}
