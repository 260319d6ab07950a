/**
 * The rollout server around the engine: the gRPC service (validation, prompt encoding, streaming), weight sync
 * (staging, checks, swap), auth, metrics, and the {@code rollout-server} command line.
 */
package dev.rollout.server;
