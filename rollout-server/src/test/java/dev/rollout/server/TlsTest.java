package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With --tls-cert and --tls-key the server speaks TLS, and a client trusting the certificate gets answers. */
class TlsTest {
    @TempDir
    Path dir;

    /** A self-signed certificate for localhost made by the JDK's keytool, written as PEM files. */
    private void makeCertificate(Path certPem, Path keyPem) throws Exception {
        Path store = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-storetype", "PKCS12",
                "-keystore", store.toString(), "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        keytool.getInputStream().readAllBytes();
        assertEquals(0, keytool.waitFor());
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, "changeit".toCharArray());
        }
        Base64.Encoder pem = Base64.getMimeEncoder(64, "\n".getBytes());
        Files.writeString(certPem, "-----BEGIN CERTIFICATE-----\n" + pem.encodeToString(ks.getCertificate("server").getEncoded())
                + "\n-----END CERTIFICATE-----\n");
        Files.writeString(keyPem, "-----BEGIN PRIVATE KEY-----\n"
                + pem.encodeToString(ks.getKey("server", "changeit".toCharArray()).getEncoded()) + "\n-----END PRIVATE KEY-----\n");
    }

    @Test
    void aClientTrustingTheCertificateIsServedOverTls() throws Exception {
        Path cert = dir.resolve("server.crt");
        Path key = dir.resolve("server.key");
        makeCertificate(cert, key);
        assertServedOverTls(cert, key);
    }

    @Test
    void aPkcs1RsaKeyIsAccepted() throws Exception {
        Path cert = dir.resolve("server.crt");
        Path key = dir.resolve("server.key");
        makeCertificate(cert, key);
        Path pkcs1 = dir.resolve("server-rsa.key");
        Files.writeString(pkcs1, "-----BEGIN RSA PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(pkcs1Of(pem(key))) + "\n-----END RSA PRIVATE KEY-----\n");
        assertServedOverTls(cert, pkcs1);
    }

    @Test
    void anEncryptedKeyIsRefusedSayingHowToConvertIt() throws Exception {
        Path key = dir.resolve("encrypted.key");
        Files.writeString(key, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> TlsKeys.pkcs8Pem(key));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("openssl pkcs8 -topk8 -nocrypt"), e.getMessage());
    }

    private static byte[] pem(Path file) throws Exception {
        String text = Files.readString(file);
        String body = text.substring(text.indexOf('\n') + 1, text.indexOf("-----END"));
        return Base64.getMimeDecoder().decode(body.strip());
    }

    /** The RSAPrivateKey inside a PKCS#8 PrivateKeyInfo: the OCTET STRING after version and algorithm (2-byte lengths for 2048-bit keys). */
    private static byte[] pkcs1Of(byte[] pkcs8) {
        assertEquals(0x30, pkcs8[0] & 0xff);
        int at = 4 + 3 + 15; // outer SEQUENCE header (30 82 xx xx), INTEGER 0, AlgorithmIdentifier
        assertEquals(0x04, pkcs8[at] & 0xff);
        assertEquals(0x82, pkcs8[at + 1] & 0xff);
        int length = ((pkcs8[at + 2] & 0xff) << 8) | (pkcs8[at + 3] & 0xff);
        return java.util.Arrays.copyOfRange(pkcs8, at + 4, at + 4 + length);
    }

    private void assertServedOverTls(Path cert, Path key) throws Exception {
        ServerOptions plain = ServerOptions.defaults(0);
        ServerOptions tls = new ServerOptions(0, plain.maxN(), plain.maxQueuedRequests(), plain.maxRequestSequences(),
                plain.maxQueuedSequences(), plain.maxSyncWaitSeconds(), plain.maxInboundMessageBytes(), null, false,
                cert, key, plain.device(), plain.scheduler(), plain.syncIdleTimeout(), plain.inflightWeightUpdate(),
                plain.adapterServing());
        try (TestServer server = TestServer.start(tls)) {
            ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", server.server.port())
                    .sslContext(GrpcSslContexts.forClient().trustManager(cert.toFile()).build())
                    .build();
            try {
                assertEquals(0, RolloutServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .getModelInfo(GetModelInfoRequest.getDefaultInstance()).getWeightVersion());
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }
}
