package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.trainer.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code trainer train} refuses a bad reward entry before loading the model, with a message and no stack trace. */
class TrainCommandRewardsTest {
    @TempDir
    Path tmp;

    /** Runs {@code trainer train} and returns its exit code and what it wrote to stderr. */
    private record Result(int exit, String err) {}

    private Result train(String rewardFuncs, String... flags) throws Exception {
        Path config = Files.writeString(tmp.resolve("train.yaml"), String.join("\n",
                "model: '" + tmp.resolve("no-such-model") + "'", // never reached: the rewards are checked first
                "reward_funcs: " + rewardFuncs,
                "output_dir: '" + tmp.resolve("run") + "'",
                "reward_classpath: ['" + tmp.resolve("from-config.jar") + "']",
                ""));
        String[] args = new String[flags.length + 5];
        args[0] = "train";
        args[1] = "--config";
        args[2] = config.toString();
        args[3] = "--metrics-port";
        args[4] = "-1";
        System.arraycopy(flags, 0, args, 5, flags.length);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream original = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return new Result(Main.run(args), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(original);
        }
    }

    @Test
    void aMissingRewardClassExitsOneNamingTheEntry() throws Exception {
        Files.createFile(tmp.resolve("from-config.jar"));
        Result r = train("[accuracy, com.example.Missing]");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("'com.example.Missing'") && r.err().contains("no such class"), r.err());
        assertFalse(r.err().contains("\tat "), "a stack trace: " + r.err());
    }

    @Test
    void rewardClasspathPathsFromTheCommandLineAreChecked() throws Exception {
        Files.createFile(tmp.resolve("from-config.jar"));
        Path present = Files.createFile(tmp.resolve("present.jar"));
        String missing = tmp.resolve("missing.jar").toString();
        Result r = train("[com.example.Missing]", "--reward-classpath", present + File.pathSeparator + missing);
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("reward_classpath") && r.err().contains(missing), r.err());
    }

    @Test
    void theConfigsRewardClasspathIsKeptBesideTheCommandLines() throws Exception {
        Path present = Files.createFile(tmp.resolve("present.jar"));
        Result r = train("[com.example.Missing]", "--reward-classpath", present.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("reward_classpath") && r.err().contains("from-config.jar"), r.err());
    }

    @Test
    void anUnknownRewardNameListsWhatAnEntryCanBe() throws Exception {
        Result r = train("[acuracy]");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("'acuracy'") && r.err().contains("http://"), r.err());
    }
}
