package dev.rollout.trainer.reward;

import dev.rollout.trainer.config.ConfigException;
import dev.rollout.trainer.config.TrainerConfig;
import java.io.File;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns the config's {@code reward_funcs} entries into rewards: a built-in name, the fully qualified name of a
 * {@link RewardFunction} class (from the trainer's classpath or {@code reward_classpath}), or a reward service's URL.
 * Every problem is a {@link ConfigException} naming the entry and the cause.
 */
final class RewardLoader {
    private static final Pattern CLASS_NAME = Pattern.compile("[A-Za-z_$][\\w$]*(?:\\.[A-Za-z_$][\\w$]*)+");

    private RewardLoader() {
    }

    static RewardSet load(TrainerConfig config) {
        List<String> entries = config.rewardFuncs();
        Map<String, Map<String, Object>> kwargs = config.rewardKwargs();
        ClassLoader classes = null;
        List<BatchReward> rewards = new ArrayList<>();
        for (int k = 0; k < entries.size(); k++) {
            String entry = entries.get(k);
            String name = config.rewardNames() == null ? null : config.rewardNames().get(k);
            if (kwargs.containsKey(entry) && !CLASS_NAME.matcher(entry).matches()) {
                throw new ConfigException("reward_kwargs", "has arguments for '" + entry
                        + "', which is not a reward class; built-in rewards take config keys, reward services none");
            }
            if (RewardSet.BUILT_IN.contains(entry)) {
                RewardFunction f = builtIn(entry, config);
                rewards.add(new PerCompletionReward(entry, name != null ? name : f.name(), f));
            } else if (entry.startsWith("http://") || entry.startsWith("https://")) {
                rewards.add(RemoteReward.fromConfig(entry, name != null ? name : RemoteReward.defaultName(entry), config));
            } else if (CLASS_NAME.matcher(entry).matches()) {
                if (classes == null) {
                    classes = classLoader(config.rewardClasspath());
                }
                RewardFunction f = instantiate(entry, kwargs.get(entry), classes);
                rewards.add(new PerCompletionReward(entry, name != null ? name : nameOf(entry, f), f));
            } else {
                throw new ConfigException("reward_funcs", "unknown reward function '" + entry + "'; give a built-in name ("
                        + String.join(", ", RewardSet.BUILT_IN) + "), the fully qualified name of a class implementing "
                        + RewardFunction.class.getName() + ", or the http:// or https:// URL of a reward service");
            }
        }
        try {
            return new RewardSet(rewards, config.effectiveRewardWeights(), config.rewardErrors());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("reward_names", e.getMessage());
        }
    }

    private static RewardFunction builtIn(String name, TrainerConfig config) {
        return switch (name) {
            case AccuracyReward.NAME -> new AccuracyReward();
            case FormatReward.NAME -> new FormatReward(config.formatPattern());
            case LengthReward.NAME -> new LengthReward(config.lengthTargetTokens());
            default -> throw new IllegalArgumentException("not a built-in reward: " + name);
        };
    }

    /** The trainer's own classes first, so a jar's copy of {@link RewardFunction} cannot shadow the real one. */
    static ClassLoader classLoader(List<String> classpath) {
        ClassLoader parent = RewardLoader.class.getClassLoader();
        if (classpath.isEmpty()) {
            return parent;
        }
        URL[] urls = new URL[classpath.size()];
        for (int i = 0; i < urls.length; i++) {
            Path p = Path.of(classpath.get(i));
            if (!Files.isReadable(p)) {
                throw new ConfigException("reward_classpath", "'" + p + "' does not exist or cannot be read; give jars or "
                        + "class directories (--reward-classpath a.jar" + File.pathSeparator + "b.jar)");
            }
            try {
                urls[i] = p.toAbsolutePath().toUri().toURL();
            } catch (MalformedURLException e) {
                throw new ConfigException("reward_classpath", "'" + p + "' is not a usable path: " + e.getMessage());
            }
        }
        return new URLClassLoader("rewards", urls, parent);
    }

    static RewardFunction instantiate(String entry, Map<String, Object> kwargs, ClassLoader classes) {
        String where = "entry '" + entry + "': ";
        Class<?> type;
        try {
            type = Class.forName(entry, true, classes);
        } catch (ClassNotFoundException e) {
            throw new ConfigException("reward_funcs", where + "no such class on the trainer's classpath or reward_classpath "
                    + "(add its jar with --reward-classpath or the reward_classpath key)");
        } catch (LinkageError e) {
            throw new ConfigException("reward_funcs", where + "the class cannot be loaded: " + PerCompletionReward.describe(
                    e.getCause() != null ? e.getCause() : e));
        }
        if (!RewardFunction.class.isAssignableFrom(type)) {
            throw new ConfigException("reward_funcs", where + "the class does not implement " + RewardFunction.class.getName());
        }
        if (Modifier.isAbstract(type.getModifiers())) {
            throw new ConfigException("reward_funcs", where + "the class is abstract; name a concrete class");
        }
        Constructor<?> withArgs = constructor(type, Map.class);
        Constructor<?> plain = constructor(type);
        try {
            if (withArgs != null) {
                return (RewardFunction) withArgs.newInstance(kwargs == null ? Map.of() : kwargs);
            }
            if (kwargs != null) {
                throw new ConfigException("reward_kwargs", where + "has arguments, but the class has no public constructor "
                        + "taking a Map<String, Object>");
            }
            if (plain == null) {
                throw new ConfigException("reward_funcs", where + "the class needs a public constructor taking no "
                        + "arguments or a Map<String, Object> (its reward_kwargs)");
            }
            return (RewardFunction) plain.newInstance();
        } catch (InvocationTargetException e) {
            throw new ConfigException("reward_funcs", where + "the constructor threw " + PerCompletionReward.describe(e.getCause()));
        } catch (ReflectiveOperationException e) {
            throw new ConfigException("reward_funcs", where + "cannot create an instance: " + PerCompletionReward.describe(e));
        }
    }

    private static Constructor<?> constructor(Class<?> type, Class<?>... parameters) {
        try {
            return type.getConstructor(parameters);
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    private static String nameOf(String entry, RewardFunction f) {
        try {
            String name = f.name();
            if (name == null || name.isBlank() || name.contains("/")) {
                throw new ConfigException("reward_funcs", "entry '" + entry + "': name() returned '" + name
                        + "'; a metric name must be non-empty and without '/' (or set reward_names)");
            }
            return name;
        } catch (RuntimeException e) {
            if (e instanceof ConfigException c) {
                throw c;
            }
            throw new ConfigException("reward_funcs", "entry '" + entry + "': name() threw " + PerCompletionReward.describe(e));
        }
    }
}
