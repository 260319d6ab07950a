package dev.rollout.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;

/** The trainer image as built from deploy/images/trainer.Dockerfile. */
class TrainerImageTest {
    private static String image;

    @BeforeAll
    static void buildImage() throws IOException {
        image = LocalImages.build("trainer");
    }

    @Test
    void runsAsTheUnprivilegedRolloutUserInItsWritableWorkFolder() {
        assertEquals("10001:10001 /var/lib/rollout written",
                OneShot.run(image, "sh", "-c", "echo $(id -u):$(id -g) $(pwd) $(touch out && echo written)"));
    }

    @Test
    void preloadsJemallocIntoEveryProcess() {
        // grep reads its own memory map: jemalloc is there when LD_PRELOAD took
        assertEquals("libjemalloc.so.2", OneShot.run(image, "sh", "-c", "grep -m 1 -o 'libjemalloc[^ ]*' /proc/self/maps || echo none"));
    }

    @Test
    void jemallocKeepsThePagesItFreesAsTheLaunchersHaveIt() {
        assertEquals("dirty_decay_ms:-1", OneShot.run(image, "sh", "-c", "echo \"$MALLOC_CONF\""));
    }
}
