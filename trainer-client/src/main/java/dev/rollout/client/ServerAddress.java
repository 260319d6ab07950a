package dev.rollout.client;

import java.util.ArrayList;
import java.util.List;

/** One rollout server as the trainer names it: {@code host:port} ({@code [v6addr]:port} for IPv6 literals). */
public record ServerAddress(String host, int port) {
    private static final String IN_PROCESS = "in-process:";

    /** A server in this JVM (colocated training), reached through gRPC's in-process transport by name. */
    public static ServerAddress inProcess(String name) {
        return new ServerAddress(IN_PROCESS + name, 0);
    }

    public boolean isInProcess() {
        return host.startsWith(IN_PROCESS);
    }

    String inProcessName() {
        return host.substring(IN_PROCESS.length());
    }

    public ServerAddress {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("server host is empty");
        }
        if (host.startsWith(IN_PROCESS) ? port != 0 : port < 1 || port > 65535) {
            throw new IllegalArgumentException("server port " + port + " of '" + host + "' is outside 1..65535");
        }
    }

    /** Parses {@code host:port}; the port is required because several servers usually share a host. */
    public static ServerAddress parse(String text) {
        String s = text.strip();
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException("server address '" + text + "' is not host:port");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException("server address '" + text + "': write IPv6 hosts as [addr]:port");
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("server address '" + text + "' has a port that is not a number");
        }
        return new ServerAddress(host, port);
    }

    /** Parses a comma-separated list, as given to {@code --server a:1,b:2}. */
    public static List<ServerAddress> parseList(String text) {
        List<ServerAddress> out = new ArrayList<>();
        for (String part : text.split(",")) {
            if (!part.isBlank()) {
                out.add(parse(part));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no server address in '" + text + "'");
        }
        return out;
    }

    @Override
    public String toString() {
        if (isInProcess()) {
            return host;
        }
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
