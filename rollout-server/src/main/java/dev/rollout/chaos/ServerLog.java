package dev.rollout.chaos;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.regex.Pattern;

/**
 * Counts the server's WARN and ERROR log lines, the campaign's measure of log noise: a record per request the server
 * could not parse floods an operator's log. In-process, the server logs through slf4j-simple to stderr and grpc-java
 * through java.util.logging; both are counted (and stderr goes to a file, or nowhere, so the campaign's own output stays
 * readable). For a server in another process, lines appended to its log file are counted.
 */
abstract class ServerLog implements AutoCloseable {
    /** slf4j-simple's "[thread] WARN logger - ..." and java.util.logging's "WARNING: ..." / "SEVERE: ...". */
    static final Pattern WARN_OR_ERROR = Pattern.compile("^(\\[[^\\]]*\\] (WARN|ERROR) |(WARNING|SEVERE): )");

    /** WARN/ERROR records so far; -1 when this log cannot be seen. */
    abstract long warnOrErrorLines();

    @Override
    public void close() {}

    static ServerLog none() {
        return new ServerLog() {
            @Override
            long warnOrErrorLines() {
                return -1;
            }
        };
    }

    /** Lines appended to {@code file} after now. */
    static ServerLog tail(Path file) throws IOException {
        long start = Files.exists(file) ? Files.size(file) : 0;
        return new ServerLog() {
            @Override
            long warnOrErrorLines() {
                try {
                    byte[] all = Files.readAllBytes(file);
                    String added = new String(all, (int) Math.min(start, all.length), (int) Math.max(0, all.length - start),
                            StandardCharsets.UTF_8);
                    return added.lines().filter(l -> WARN_OR_ERROR.matcher(l).find()).count();
                } catch (IOException e) {
                    return -1;
                }
            }
        };
    }

    /** This JVM's stderr and java.util.logging, from now until {@link #close()}; stderr is copied to {@code copy} if not null. */
    static ServerLog thisProcess(Path copy) throws IOException {
        return new InProcess(copy);
    }

    private static final class InProcess extends ServerLog {
        private final AtomicLong count = new AtomicLong();
        private final PrintStream originalErr = System.err;
        private final OutputStream copy;
        private final Handler julHandler;
        private final java.util.Map<Handler, Level> silenced = new java.util.HashMap<>();

        InProcess(Path copyTo) throws IOException {
            copy = copyTo == null ? OutputStream.nullOutputStream() : new java.io.BufferedOutputStream(Files.newOutputStream(copyTo));
            System.setErr(new PrintStream(new LineCounter(), true, StandardCharsets.UTF_8));
            java.util.logging.Formatter format = new java.util.logging.SimpleFormatter();
            julHandler = new Handler() {
                @Override
                public void publish(LogRecord record) {
                    if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                        count.incrementAndGet();
                    }
                    if (record.getLevel().intValue() >= Level.INFO.intValue()) {
                        byte[] text = format.format(record).getBytes(StandardCharsets.UTF_8);
                        synchronized (InProcess.this) {
                            try {
                                copy.write(text);
                            } catch (IOException e) {
                                // the copy is a convenience; the count is what the campaign reports
                            }
                        }
                    }
                }

                @Override
                public void flush() {}

                @Override
                public void close() {}
            };
            java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
            // grpc-java's records are counted and copied here; its console handler would print them a second time.
            for (Handler h : root.getHandlers()) {
                if (h instanceof java.util.logging.ConsoleHandler) {
                    silenced.put(h, h.getLevel());
                    h.setLevel(Level.OFF);
                }
            }
            root.addHandler(julHandler);
        }

        @Override
        long warnOrErrorLines() {
            return count.get();
        }

        @Override
        public void close() {
            java.util.logging.Logger.getLogger("").removeHandler(julHandler);
            silenced.forEach(Handler::setLevel);
            System.setErr(originalErr);
            try {
                copy.close();
            } catch (IOException e) {
                originalErr.println("chaos: could not close the server log copy: " + e.getMessage());
            }
        }

        /** Splits stderr into lines, counts the WARN/ERROR ones and copies everything. */
        private final class LineCounter extends OutputStream {
            private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

            @Override
            public void write(int b) throws IOException {
                synchronized (InProcess.this) {
                    copy.write(b);
                    if (b == '\n') {
                        if (WARN_OR_ERROR.matcher(line.toString(StandardCharsets.UTF_8)).find()) {
                            count.incrementAndGet();
                        }
                        line.reset();
                    } else if (line.size() < 256) {
                        line.write(b);
                    }
                }
            }
        }
    }
}
