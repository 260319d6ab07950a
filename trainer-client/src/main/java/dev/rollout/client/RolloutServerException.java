package dev.rollout.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** A call to one rollout server failed: which server, which RPC, the final gRPC status and how many attempts were made. */
public final class RolloutServerException extends RuntimeException {
    private final ServerAddress server;
    private final String rpc;
    private final Status status;
    private final int attempts;

    RolloutServerException(ServerAddress server, String rpc, StatusRuntimeException last, int attempts) {
        super(message(server, rpc, last.getStatus(), attempts), last);
        this.server = server;
        this.rpc = rpc;
        this.status = last.getStatus();
        this.attempts = attempts;
    }

    private static String message(ServerAddress server, String rpc, Status status, int attempts) {
        String what = status.getCode() + (status.getDescription() != null ? ": " + status.getDescription() : "");
        if (status.getCode() == Status.Code.UNAVAILABLE) {
            return rpc + " on rollout server " + server + " still UNAVAILABLE after " + attempts + " attempt(s); last status "
                    + what + " (is the server started and reachable at that address?)";
        }
        return rpc + " on rollout server " + server + " failed: " + what;
    }

    public ServerAddress server() {
        return server;
    }

    public String rpc() {
        return rpc;
    }

    public Status status() {
        return status;
    }

    public int attempts() {
        return attempts;
    }
}
