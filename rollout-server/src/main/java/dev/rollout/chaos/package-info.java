/**
 * The reliability campaign, {@code rollout-server chaos}: fuzzed requests to every RPC, every validation rule,
 * faulty weight syncs and concurrent clients against a real server on loopback, tallied by status code
 * (docs/reliability.md).
 */
package dev.rollout.chaos;
