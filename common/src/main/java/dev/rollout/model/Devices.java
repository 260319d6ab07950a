package dev.rollout.model;

import ai.djl.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@code auto|cpu|gpu} choice of the server's {@code --device} and the trainer's {@code device} key. */
public final class Devices {
    private static final Logger LOG = LoggerFactory.getLogger(Devices.class);

    private Devices() {}

    public static Device parse(String value) {
        int gpus = ai.djl.engine.Engine.getInstance().getGpuCount();
        return switch (value) {
            case "auto" -> {
                if (gpus > 0) {
                    yield Device.gpu();
                }
                String expected = gpuExpected(System.getenv("PYTORCH_FLAVOR"), Files.exists(Path.of("/dev/nvidiactl")));
                if (expected != null) {
                    LOG.warn("device auto: {}, but PyTorch sees no GPU (the CUDA runtime or libtorch's CUDA build could "
                            + "not be loaded: check the driver, CUDA_VISIBLE_DEVICES and PYTORCH_FLAVOR/PYTORCH_LIBRARY_PATH); "
                            + "running on the CPU", expected);
                } else {
                    LOG.info("device auto: no GPU visible to PyTorch; running on the CPU");
                }
                yield Device.cpu();
            }
            case "cpu" -> Device.cpu();
            case "gpu" -> {
                if (gpus == 0) {
                    throw new IllegalArgumentException("device gpu, but no GPU is visible to PyTorch (is the CUDA build of "
                            + "libtorch loaded (PYTORCH_FLAVOR=cu128) and CUDA_VISIBLE_DEVICES set?); use cpu or auto");
                }
                yield Device.gpu();
            }
            default -> throw new IllegalArgumentException("device must be auto, cpu or gpu, got '" + value + "'");
        };
    }

    /**
     * Why a GPU was to be expected on this machine, or null: a CUDA flavour of libtorch was asked for, or an NVIDIA
     * driver is present. Either way, a CPU fallback then deserves a warning rather than silence.
     */
    static String gpuExpected(String pytorchFlavor, boolean nvidiaDriver) {
        if (pytorchFlavor != null && pytorchFlavor.startsWith("cu")) {
            return "PYTORCH_FLAVOR is " + pytorchFlavor;
        }
        if (nvidiaDriver) {
            return "an NVIDIA driver is present (/dev/nvidiactl)";
        }
        return null;
    }
}
