package dev.rollout.chaos;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Byte-level mutations of a serialised message, as a fuzzer makes them: flipped bits, overwritten, inserted, deleted
 * or duplicated bytes, truncation, and "interesting" values (0x00, 0x7f, 0x80, 0xff) that break varints, lengths and
 * UTF-8. Some results still parse (and then test validation), most do not (and test the server's parse errors).
 * The same seed gives the same mutations.
 */
final class ByteMutator {
    private static final byte[] INTERESTING = {0x00, 0x01, 0x7f, (byte) 0x80, (byte) 0xff, (byte) 0xc0, (byte) 0xfe};

    private final SplittableRandom random;

    ByteMutator(long seed) {
        random = new SplittableRandom(seed);
    }

    /** One to four mutations of {@code message}; never the input array itself. */
    byte[] mutate(byte[] message) {
        byte[] out = message.clone();
        int rounds = 1 + random.nextInt(4);
        for (int i = 0; i < rounds; i++) {
            out = mutateOnce(out);
        }
        if (Arrays.equals(out, message)) {
            out = Arrays.copyOf(message, message.length + 1);
            out[message.length] = (byte) (1 + random.nextInt(255));
        }
        return out;
    }

    private byte[] mutateOnce(byte[] in) {
        if (in.length == 0) {
            return randomBytes(1 + random.nextInt(16));
        }
        int at = random.nextInt(in.length);
        return switch (random.nextInt(7)) {
            case 0 -> { // flip one bit
                byte[] out = in.clone();
                out[at] ^= (byte) (1 << random.nextInt(8));
                yield out;
            }
            case 1 -> { // overwrite with an interesting byte
                byte[] out = in.clone();
                out[at] = INTERESTING[random.nextInt(INTERESTING.length)];
                yield out;
            }
            case 2 -> { // insert random bytes
                byte[] extra = randomBytes(1 + random.nextInt(8));
                byte[] out = new byte[in.length + extra.length];
                System.arraycopy(in, 0, out, 0, at);
                System.arraycopy(extra, 0, out, at, extra.length);
                System.arraycopy(in, at, out, at + extra.length, in.length - at);
                yield out;
            }
            case 3 -> { // delete a run of bytes
                int len = Math.min(in.length - at, 1 + random.nextInt(8));
                byte[] out = new byte[in.length - len];
                System.arraycopy(in, 0, out, 0, at);
                System.arraycopy(in, at + len, out, at, in.length - at - len);
                yield out;
            }
            case 4 -> Arrays.copyOf(in, at); // truncate
            case 5 -> { // duplicate a run of bytes in place
                int len = Math.min(in.length - at, 1 + random.nextInt(16));
                byte[] out = new byte[in.length + len];
                System.arraycopy(in, 0, out, 0, at + len);
                System.arraycopy(in, at, out, at + len, in.length - at);
                yield out;
            }
            default -> { // overwrite a run with random bytes
                byte[] out = in.clone();
                int len = Math.min(in.length - at, 1 + random.nextInt(8));
                for (int i = 0; i < len; i++) {
                    out[at + i] = (byte) random.nextInt(256);
                }
                yield out;
            }
        };
    }

    private byte[] randomBytes(int n) {
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            out[i] = (byte) random.nextInt(256);
        }
        return out;
    }

    int nextInt(int bound) {
        return random.nextInt(bound);
    }
}
