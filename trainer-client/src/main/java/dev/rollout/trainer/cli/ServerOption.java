package dev.rollout.trainer.cli;

import dev.rollout.client.ServerAddress;
import dev.rollout.trainer.config.RolloutMode;
import dev.rollout.trainer.config.TrainerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code train --server host:port[,host:port...]}, the shorthand for {@code rollout.servers}. Like any command-line
 * setting it replaces what the config file says (and the log says so); given together with
 * {@code --set rollout.servers=...}, or with a config that trains colocated, it is refused: there is no right guess.
 */
public final class ServerOption {
    private static final Logger LOG = LoggerFactory.getLogger(ServerOption.class);
    static final String KEY = "rollout.servers";

    private ServerOption() {}

    /**
     * The overrides with {@code --server}'s servers added as {@code rollout.servers}.
     *
     * @param flag      the option's value, e.g. {@code gpu-1:50051,gpu-2:50051}
     * @param loaded    the config as the file and {@code overrides} make it, without {@code --server}
     * @throws IllegalArgumentException naming the conflict or the bad address, for the usage message
     */
    public static List<String> overrides(String flag, TrainerConfig loaded, List<String> overrides) {
        List<ServerAddress> servers = ServerAddress.parseList(flag);
        for (String o : overrides) {
            int eq = o.indexOf('=');
            if (eq > 0 && o.substring(0, eq).strip().equals(KEY)) {
                throw new IllegalArgumentException("--server and --set " + KEY + " both name the rollout servers; give them once");
            }
        }
        if (loaded.rolloutMode() == RolloutMode.COLOCATE) {
            throw new IllegalArgumentException("--server names rollout servers, but rollout.mode is colocate (no servers are "
                    + "called); drop --server, or add --set rollout.mode=server");
        }
        List<String> names = servers.stream().map(ServerAddress::toString).toList();
        if (loaded.isGiven(KEY) && !loaded.rolloutServers().equals(names)) {
            LOG.info("--server {} replaces {} {} of the config file", flag.strip(), KEY, loaded.rolloutServers());
        }
        List<String> out = new ArrayList<>(overrides);
        // single-quoted YAML scalars: a host:port is read as text, never as a key: value pair
        out.add(KEY + "=" + names.stream().map(n -> "'" + n.replace("'", "''") + "'")
                .collect(Collectors.joining(", ", "[", "]")));
        return out;
    }
}
