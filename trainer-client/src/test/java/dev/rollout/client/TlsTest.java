package dev.rollout.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsTest {
    private static final char[] PASSWORD = "changeit".toCharArray();
    private static final List<Prompt> PROMPTS = List.of(Prompt.newBuilder().setText("p0").build());
    private static final SamplingParams SAMPLING = SamplingParams.newBuilder().setMaxTokens(4).build();

    @TempDir
    static Path dir;
    private static ServerCredentials serverCredentials;
    private static Path caFile;

    /** A self-signed certificate for 127.0.0.1 made with the JDK's keytool; the certificate is its own CA. */
    @BeforeAll
    static void makeCertificate() throws Exception {
        Path keystore = dir.resolve("server.p12");
        caFile = dir.resolve("ca.pem");
        keytool("-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", "CN=rollout-test", "-ext", "san=ip:127.0.0.1", "-storetype", "PKCS12",
                "-keystore", keystore.toString(), "-storepass", new String(PASSWORD));
        keytool("-exportcert", "-rfc", "-alias", "server", "-keystore", keystore.toString(),
                "-storepass", new String(PASSWORD), "-file", caFile.toString());
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, PASSWORD);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, PASSWORD);
        serverCredentials = TlsServerCredentials.newBuilder().keyManager(kmf.getKeyManagers()).build();
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("keytool failed: " + out);
        }
    }

    @Test
    void talksTlsToAServerWhoseCertificateTheCaFileVouchesFor() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.startTls("tls", serverCredentials);
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())).withTls(caFile))) {
            assertEquals(FakeRolloutService.completionText("tls", "p0", 0),
                    client.generate(PROMPTS, SAMPLING, 0).getCompletions(0).getText());
        }
    }

    @Test
    void aMissingCaFileIsRefusedNamingTheFile() {
        Path missing = dir.resolve("no-such-ca.pem");
        ClientConfig config = ClientConfig.of("127.0.0.1:1").withTls(missing);

        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> new RolloutClient(config));

        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }
}
