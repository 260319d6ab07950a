package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** A burst of warnings writes one line per interval. */
class RateLimitedLogTest {
    @Test
    void aBurstWithinTheIntervalLogsOnce() {
        RateLimitedLog log = new RateLimitedLog(LoggerFactory.getLogger(RateLimitedLogTest.class), TimeUnit.HOURS.toNanos(1));
        assertTrue(log.warn("first"));
        int more = 0;
        for (int i = 0; i < 1000; i++) {
            more += log.warn("again") ? 1 : 0;
        }
        assertEquals(0, more);
    }

    @Test
    void aWarningAfterTheIntervalLogsAgain() throws InterruptedException {
        RateLimitedLog log = new RateLimitedLog(LoggerFactory.getLogger(RateLimitedLogTest.class), 1);
        assertTrue(log.warn("first"));
        Thread.sleep(2);
        assertTrue(log.warn("second"));
    }
}
