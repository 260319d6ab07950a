package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.bench.BenchCommand;
import dev.rollout.server.ServeCommand;
import dev.rollout.trainer.cli.DemoCommand;
import dev.rollout.trainer.cli.TrainCommand;
import dev.rollout.trainer.config.ConfigKey;
import dev.rollout.trainer.config.TrainerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * docs/configuration.md against the code, so neither can change without the other. Each command has a level-2 section
 * headed by its name in backticks, holding tables whose rows start with a flag in backticks:
 * {@code | `--flag` | value | default | meaning |}. A default the code gives is written in backticks, exactly as the
 * code states it; an option without one has words there (none, off, required). The trainer's keys are the rows of the
 * section {@code Trainer YAML keys}: {@code | `key` | accepted values | default | meaning |}, the default as
 * {@link ConfigKey#defaultText()} prints it (backticks aside).
 */
class ConfigurationDocTest {
    private static final Path DOC = Path.of("..", "docs", "configuration.md");
    private static final String DOC_NAME = "docs/configuration.md";
    private static final String KEYS_SECTION = "Trainer YAML keys";

    private static Map<String, List<Row>> sections;
    private static String text;

    /** One documented command: its section heading and the picocli object it is parsed by. */
    record Documented(String heading, String className, Supplier<Object> command) {
        @Override
        public String toString() {
            return heading;
        }
    }

    /** A table row of the doc: the name in its first cell, then its other cells as written. */
    record Row(String name, List<String> cells) {}

    static Stream<Documented> commands() {
        return Stream.of(
                new Documented("rollout-server serve", "ServeCommand", ServeCommand::new),
                new Documented("rollout-server bench", "BenchCommand", BenchCommand::new),
                new Documented("rollout-server bench batched", "BatchedBenchCommand", dev.rollout.bench.BatchedBenchCommand::new),
                new Documented("rollout-server bench checkpoint", "CheckpointCommand", dev.rollout.bench.CheckpointCommand::new),
                new Documented("rollout-server bench bf16-gap", "Bf16GapCommand", dev.rollout.bench.Bf16GapCommand::new),
                new Documented("rollout-server chaos", "ChaosCommand", dev.rollout.chaos.ChaosCommand::new),
                new Documented("trainer train", "TrainCommand", TrainCommand::new),
                new Documented("trainer demo", "DemoCommand", DemoCommand::new),
                new Documented("trainer bench", "BenchCommand", dev.rollout.trainer.cli.BenchCommand::new));
    }

    @BeforeAll
    static void readDoc() throws IOException {
        assertTrue(Files.isRegularFile(DOC), DOC_NAME + " is missing (looked for " + DOC.toAbsolutePath().normalize() + ")");
        text = Files.readString(DOC);
        sections = parseSections(text);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commands")
    void everyFlagOfTheCommandIsDocumentedWithTheDefaultTheCodeGives(Documented command) {
        List<Row> rows = section(command.heading());
        List<String> problems = new ArrayList<>();
        for (OptionSpec option : options(command)) {
            String flag = option.longestName();
            Row row = find(rows, flag);
            String expected = option.defaultValue() == null ? null : "`" + option.defaultValue() + "`";
            if (row == null) {
                problems.add("add a row for " + flag + " to section `" + command.heading() + "`: | `" + flag + "` | "
                        + option.paramLabel() + " | " + (expected != null ? expected : "none") + " | "
                        + String.join(" ", option.description()) + " |");
                continue;
            }
            String cell = cell(row, 2);
            if (expected != null && !cell.equals(expected)) {
                problems.add("in section `" + command.heading() + "`, change the default of " + flag + " from '" + cell
                        + "' to " + expected + " (the default " + command.className() + " gives it)");
            } else if (expected == null && cell.contains("`")) {
                problems.add("in section `" + command.heading() + "`, " + flag + " has no default in " + command.className()
                        + ": write words (none, off, required) instead of '" + cell + "'");
            }
        }
        assertTrue(problems.isEmpty(), "Update " + DOC_NAME + ":\n  " + String.join("\n  ", problems));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commands")
    void theCommandSectionNamesNoFlagTheCommandLacks(Documented command) {
        Set<String> known = new LinkedHashSet<>();
        options(command).forEach(o -> known.add(o.longestName()));
        List<String> problems = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (Row row : section(command.heading())) {
            if (!known.contains(row.name())) {
                problems.add("remove the row " + row.name() + " from section `" + command.heading() + "`: "
                        + command.className() + " has no such option (it has " + known + ")");
            } else if (!seen.add(row.name())) {
                problems.add("section `" + command.heading() + "` lists " + row.name() + " twice; keep one row");
            }
        }
        assertTrue(problems.isEmpty(), "Update " + DOC_NAME + ":\n  " + String.join("\n  ", problems));
    }

    @Test
    void everyTrainerKeyIsDocumentedWithItsDefaultAndAcceptedValues() {
        List<Row> rows = section(KEYS_SECTION);
        List<String> problems = new ArrayList<>();
        for (ConfigKey key : TrainerConfig.keys()) {
            Row row = find(rows, key.name());
            if (row == null) {
                problems.add("add a row for " + key.name() + " to section `" + KEYS_SECTION + "`: | `" + key.name() + "` | "
                        + key.type() + " | `" + key.defaultText() + "` | " + key.meaning() + " |");
                continue;
            }
            String type = unquote(cell(row, 1));
            if (!type.equals(key.type())) {
                problems.add("change the accepted values of " + key.name() + " from '" + type + "' to '" + key.type()
                        + "' (as ConfigKeys states them)");
            }
            String defaultText = unquote(cell(row, 2));
            if (!defaultText.equals(key.defaultText())) {
                problems.add("change the default of " + key.name() + " from '" + defaultText + "' to '" + key.defaultText()
                        + "' (as ConfigKeys states it)");
            }
        }
        assertTrue(problems.isEmpty(), "Update " + DOC_NAME + ":\n  " + String.join("\n  ", problems));
    }

    @Test
    void theKeysSectionNamesNoKeyTheTrainerLacks() {
        Set<String> known = new LinkedHashSet<>();
        TrainerConfig.keys().forEach(k -> known.add(k.name()));
        List<String> problems = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (Row row : section(KEYS_SECTION)) {
            if (!known.contains(row.name())) {
                problems.add("remove the row " + row.name() + " from section `" + KEYS_SECTION
                        + "`: TrainerConfig.keys() has no such key");
            } else if (!seen.add(row.name())) {
                problems.add("section `" + KEYS_SECTION + "` lists " + row.name() + " twice; keep one row");
            }
        }
        assertTrue(problems.isEmpty(), "Update " + DOC_NAME + ":\n  " + String.join("\n  ", problems));
    }

    @Test
    void everyFlagMentionedAnywhereInTheDocExists() {
        Set<String> known = new LinkedHashSet<>(List.of("--help", "--version"));
        commands().forEach(c -> options(c).forEach(o -> {
            known.addAll(List.of(o.names()));
            if (o.negatable()) {
                known.add(o.longestName().replaceFirst("^--", "--no-"));
            }
        }));
        Set<String> unknown = new LinkedHashSet<>();
        Matcher m = Pattern.compile("`(--[a-z][a-z0-9-]*)").matcher(text);
        while (m.find()) {
            if (!known.contains(m.group(1))) {
                unknown.add(m.group(1));
            }
        }
        assertTrue(unknown.isEmpty(), "Update " + DOC_NAME + ": it mentions " + unknown
                + ", which no documented command has; remove or rename the mention");
    }

    @Test
    void theExampleConfigIsValid() {
        Matcher m = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL).matcher(text);
        assertTrue(m.find(), DOC_NAME + " must hold an example trainer config in a ```yaml block");
        TrainerConfig example = TrainerConfig.parse(m.group(1), List.of());
        assertEquals(2, example.rolloutServers().size(), "the example config of " + DOC_NAME + " points at two servers");
        assertFalse(example.model().equals("tiny"), "the example config of " + DOC_NAME + " names a model directory");
    }

    // ---- reading the doc ----

    private static List<OptionSpec> options(Documented command) {
        return new CommandLine(command.command().get()).getCommandSpec().options().stream()
                .filter(o -> !o.usageHelp() && !o.versionHelp())
                .toList();
    }

    private static List<Row> section(String heading) {
        List<Row> rows = sections.get(heading);
        assertTrue(rows != null, DOC_NAME + " has no section '## `" + heading + "`'; add it (sections found: "
                + sections.keySet() + ")");
        return rows;
    }

    private static Row find(List<Row> rows, String name) {
        return rows.stream().filter(r -> r.name().equals(name)).findFirst().orElse(null);
    }

    private static String cell(Row row, int index) {
        assertTrue(row.cells().size() > index, "the row of " + row.name() + " in " + DOC_NAME + " has " + row.cells().size()
                + " cells; write | name | values | default | meaning |");
        return row.cells().get(index);
    }

    private static String unquote(String cell) {
        return cell.replace("`", "");
    }

    /** Level-2 headings (backticks dropped) to the table rows below them whose first cell is a name in backticks. */
    static Map<String, List<Row>> parseSections(String doc) {
        Map<String, List<Row>> out = new LinkedHashMap<>();
        List<Row> current = null;
        boolean inCode = false;
        for (String line : doc.split("\n")) {
            if (line.startsWith("```")) {
                inCode = !inCode;
            } else if (inCode) {
                continue;
            } else if (line.startsWith("## ")) {
                current = new ArrayList<>();
                out.put(unquote(line.substring(3)).strip(), current);
            } else if (current != null && line.startsWith("|")) {
                List<String> cells = splitRow(line);
                String first = cells.get(0);
                if (first.length() > 2 && first.startsWith("`") && first.endsWith("`")) {
                    current.add(new Row(first.substring(1, first.length() - 1), cells));
                }
            }
        }
        return out;
    }

    /** The cells of a Markdown table row, trimmed; {@code \|} is a literal bar inside a cell. */
    private static List<String> splitRow(String line) {
        String body = line.strip();
        body = body.substring(1, body.endsWith("|") && !body.endsWith("\\|") ? body.length() - 1 : body.length());
        List<String> cells = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c == '\\' && i + 1 < body.length() && body.charAt(i + 1) == '|') {
                cell.append('|');
                i++;
            } else if (c == '|') {
                cells.add(cell.toString().strip());
                cell.setLength(0);
            } else {
                cell.append(c);
            }
        }
        cells.add(cell.toString().strip());
        return cells;
    }
}
