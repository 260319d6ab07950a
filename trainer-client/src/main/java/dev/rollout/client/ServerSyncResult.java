package dev.rollout.client;

import dev.rollout.proto.v1.SyncWeightsResponse;

/** What one server answered to a weight push, the tensor bytes sent to it and how long its push took. */
public record ServerSyncResult(ServerAddress server, SyncWeightsResponse response, long bytesSent, double seconds) {

    @Override
    public String toString() {
        return server + " (version " + response.getVersion() + ", " + response.getTensorsUpdated() + " tensors, "
                + bytesSent + " bytes in " + String.format("%.3f", seconds) + " s)";
    }
}
