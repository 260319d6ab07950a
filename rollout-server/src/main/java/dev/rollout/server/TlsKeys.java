package dev.rollout.server;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a TLS private key for Netty, which takes only PKCS#8. OpenSSL's traditional RSA form (PKCS#1,
 * {@code BEGIN RSA PRIVATE KEY}, what {@code openssl genrsa} and many cert tools write) is rewrapped in memory: PKCS#8's
 * PrivateKeyInfo is the PKCS#1 key inside an OCTET STRING next to the rsaEncryption algorithm id, nothing more.
 */
final class TlsKeys {
    private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");
    /** SEQUENCE { INTEGER 0, SEQUENCE { OID 1.2.840.113549.1.1.1 (rsaEncryption), NULL } }, without the outer SEQUENCE. */
    private static final byte[] RSA_PKCS8_PREFIX = {
        0x02, 0x01, 0x00,
        0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};

    private TlsKeys() {}

    /** The key file as PKCS#8 PEM; refuses with a message saying how to convert what it cannot read. */
    static InputStream pkcs8Pem(Path keyFile) throws IOException {
        String text = Files.readString(keyFile, StandardCharsets.US_ASCII);
        Matcher m = PEM.matcher(text);
        if (!m.find()) {
            throw new IllegalArgumentException("--tls-key " + keyFile + " holds no PEM block (-----BEGIN ... PRIVATE KEY-----)");
        }
        String type = m.group(1);
        return switch (type) {
            case "PRIVATE KEY" -> new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII));
            case "RSA PRIVATE KEY" -> {
                if (m.group(2).contains("Proc-Type") || m.group(2).contains("DEK-Info")) {
                    throw encrypted(keyFile);
                }
                byte[] pkcs1 = Base64.getMimeDecoder().decode(m.group(2).strip());
                yield new ByteArrayInputStream(pem(pkcs8FromPkcs1(pkcs1)).getBytes(StandardCharsets.US_ASCII));
            }
            case "ENCRYPTED PRIVATE KEY" -> throw encrypted(keyFile);
            default -> throw new IllegalArgumentException("--tls-key " + keyFile + " holds a '" + type + "' block, which the server "
                    + "cannot read; convert it to PKCS#8 with: openssl pkcs8 -topk8 -nocrypt -in " + keyFile + " -out key.pk8.pem");
        };
    }

    static byte[] pkcs8FromPkcs1(byte[] pkcs1) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(RSA_PKCS8_PREFIX);
        body.write(0x04); // OCTET STRING
        writeLength(body, pkcs1.length);
        body.writeBytes(pkcs1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x30); // SEQUENCE
        writeLength(out, body.size());
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    /** DER definite length: short form below 128, else 0x80 | byte count, then the bytes big-endian. */
    private static void writeLength(ByteArrayOutputStream out, int length) {
        if (length < 0x80) {
            out.write(length);
            return;
        }
        int bytes = (32 - Integer.numberOfLeadingZeros(length) + 7) / 8;
        out.write(0x80 | bytes);
        for (int i = bytes - 1; i >= 0; i--) {
            out.write(length >>> (8 * i));
        }
    }

    private static String pem(byte[] der) {
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END PRIVATE KEY-----\n";
    }

    private static IllegalArgumentException encrypted(Path keyFile) {
        return new IllegalArgumentException("--tls-key " + keyFile + " is encrypted; the server needs an unencrypted key: "
                + "openssl pkcs8 -topk8 -nocrypt -in " + keyFile + " -out key.pk8.pem");
    }
}
