/**
 * The rollout server around the engine: the gRPC service (validation, prompt encoding, streaming), auth and metrics
 * interceptors, model loading, and the {@code rollout-server} command line. Weight sync (staging, checks, swap) is in
 * {@code dev.rollout.server.sync}.
 */
package dev.rollout.server;
