package dev.rollout.server;

import io.grpc.Status;
import io.grpc.StatusException;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A failure of the server itself, as its caller sees it: a status with an error id that finds the stack trace in the
 * server's log, never the exception's text (class names and internals mean nothing to a client and may leak details).
 * Running out of memory is RESOURCE_EXHAUSTED, since a smaller request may succeed; anything else is INTERNAL.
 */
final class InternalFailure {
    private static final Logger log = LoggerFactory.getLogger(InternalFailure.class);

    private InternalFailure() {}

    /** Logs {@code error} under a new id and returns the status to send; {@code what} names what failed, for both. */
    static StatusException of(String what, Throwable error) {
        String id = UUID.randomUUID().toString().substring(0, 8);
        log.error("{} (error id {})", what, id, error);
        if (error instanceof OutOfMemoryError) {
            return Status.RESOURCE_EXHAUSTED.withDescription(what + ": the server ran out of memory (error id " + id
                    + "); retry with a smaller request").asException();
        }
        return Status.INTERNAL.withDescription(what + " on the server (error id " + id + "; its log has the details)").asException();
    }
}
