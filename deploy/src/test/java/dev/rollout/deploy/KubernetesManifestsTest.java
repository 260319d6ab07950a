package dev.rollout.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/** deploy/k8s: the manifests parse, and their parts fit together (ports, probes, mounts, selectors). */
class KubernetesManifestsTest {

    private static JsonNode kustomization() throws IOException {
        return Yaml.document(DeployPaths.k8sDir().resolve("kustomization.yaml"));
    }

    /** Every object the kustomization deploys, by kind. */
    private static Map<String, JsonNode> objectsByKind() throws IOException {
        Map<String, JsonNode> byKind = new HashMap<>();
        for (JsonNode resource : kustomization().path("resources")) {
            for (JsonNode object : Yaml.documents(DeployPaths.k8sDir().resolve(resource.asText()))) {
                byKind.put(object.path("kind").asText(), object);
            }
        }
        return byKind;
    }

    private static JsonNode object(String kind) throws IOException {
        JsonNode object = objectsByKind().get(kind);
        assertTrue(object != null, "the kustomization deploys no " + kind);
        return object;
    }

    private static JsonNode onlyContainer(JsonNode workload) {
        JsonNode containers = workload.path("spec").path("template").path("spec").path("containers");
        assertEquals(1, containers.size(), workload.path("metadata").path("name").asText() + " has one container");
        return containers.get(0);
    }

    private static List<String> args(JsonNode container) {
        List<String> args = new ArrayList<>();
        container.path("args").forEach(arg -> args.add(arg.asText()));
        return args;
    }

    /** The value of a {@code --name=value} argument. */
    private static String option(JsonNode container, String name) {
        return args(container).stream().filter(arg -> arg.startsWith(name + "=")).map(arg -> arg.substring(name.length() + 1))
                .findFirst().orElseThrow(() -> new AssertionError("no " + name + "=... among the args " + args(container)));
    }

    private static int containerPort(JsonNode container, String portName) {
        for (JsonNode port : container.path("ports")) {
            if (port.path("name").asText().equals(portName)) {
                return port.path("containerPort").asInt();
            }
        }
        throw new AssertionError("container " + container.path("name").asText() + " has no port named " + portName);
    }

    /** The path inside the container where a volume item lands: mountPath + "/" + item path. */
    private static Set<String> mountedFiles(JsonNode workload) {
        JsonNode pod = workload.path("spec").path("template").path("spec");
        Map<String, List<String>> itemsByVolume = new HashMap<>();
        for (JsonNode volume : pod.path("volumes")) {
            JsonNode source = volume.has("secret") ? volume.path("secret") : volume.path("configMap");
            List<String> items = new ArrayList<>();
            source.path("items").forEach(item -> items.add(item.path("path").asText()));
            itemsByVolume.put(volume.path("name").asText(), items);
        }
        Set<String> files = new TreeSet<>();
        for (JsonNode mount : onlyContainer(workload).path("volumeMounts")) {
            for (String item : itemsByVolume.getOrDefault(mount.path("name").asText(), List.of())) {
                files.add(mount.path("mountPath").asText() + "/" + item);
            }
        }
        return files;
    }

    @Test
    void everyManifestFileParsesAndIsListedInTheKustomization() throws IOException {
        Set<String> listed = new TreeSet<>();
        kustomization().path("resources").forEach(r -> listed.add(r.asText()));
        Set<String> present = new TreeSet<>();
        try (Stream<Path> files = Files.list(DeployPaths.k8sDir())) {
            files.map(f -> f.getFileName().toString())
                    .filter(f -> f.endsWith(".yaml") && !f.equals("kustomization.yaml"))
                    .forEach(present::add);
        }
        assertEquals(present, listed);
        for (String file : listed) {
            for (JsonNode object : Yaml.documents(DeployPaths.k8sDir().resolve(file))) {
                assertFalse(object.path("apiVersion").asText().isEmpty(), file + " has an apiVersion");
                assertFalse(object.path("kind").asText().isEmpty(), file + " has a kind");
                assertFalse(object.path("metadata").path("name").asText().isEmpty(), file + " has a metadata.name");
            }
        }
    }

    @Test
    void serverDeploymentRequestsAGpu() throws IOException {
        JsonNode resources = onlyContainer(object("Deployment")).path("resources");
        assertEquals(1, resources.path("limits").path("nvidia.com/gpu").asInt());
        assertEquals(1, resources.path("requests").path("nvidia.com/gpu").asInt());
    }

    @Test
    void serverProbesAskGrpcHealthOnTheServingPort() throws IOException {
        JsonNode server = onlyContainer(object("Deployment"));
        int grpcPort = containerPort(server, "grpc");
        assertEquals(String.valueOf(grpcPort), option(server, "--port"));
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            assertEquals(grpcPort, server.path(probe).path("grpc").path("port").asInt(), probe + " is a gRPC probe on " + grpcPort);
        }
    }

    @Test
    void serverReadsItsAuthTokenFromTheSecret() throws IOException {
        JsonNode deployment = object("Deployment");
        String tokenFile = option(onlyContainer(deployment), "--auth-token-file");
        assertTrue(mountedFiles(deployment).contains(tokenFile), tokenFile + " is mounted from a Secret: " + mountedFiles(deployment));
    }

    @Test
    void podOutlivesTheServersDrain() throws IOException {
        JsonNode deployment = object("Deployment");
        int drain = Integer.parseInt(option(onlyContainer(deployment), "--shutdown-grace-seconds"));
        int kill = deployment.path("spec").path("template").path("spec").path("terminationGracePeriodSeconds").asInt(30);
        assertTrue(kill >= drain + 10, "the kubelet kills the pod after " + kill + " s, the drain may take " + drain
                + " s plus the shutdown after it: SIGKILL would cut requests off");
    }

    @Test
    void serverRunsAsTheImagesNonRootUser() throws IOException {
        JsonNode pod = object("Deployment").path("spec").path("template").path("spec");
        assertTrue(pod.path("securityContext").path("runAsNonRoot").asBoolean());
        assertEquals(10001, pod.path("securityContext").path("runAsUser").asInt());
    }

    @Test
    void serviceIsHeadlessAndSelectsTheServerPods() throws IOException {
        JsonNode service = object("Service");
        assertEquals("None", service.path("spec").path("clusterIP").asText());
        JsonNode podLabels = object("Deployment").path("spec").path("template").path("metadata").path("labels");
        service.path("spec").path("selector").fields().forEachRemaining(label ->
                assertEquals(label.getValue().asText(), podLabels.path(label.getKey()).asText(), "pod label " + label.getKey()));
    }

    @Test
    void prometheusAnnotationsPointAtTheMetricsPort() throws IOException {
        JsonNode deployment = object("Deployment");
        JsonNode annotations = deployment.path("spec").path("template").path("metadata").path("annotations");
        int metricsPort = containerPort(onlyContainer(deployment), "metrics");
        assertEquals("true", annotations.path("prometheus.io/scrape").asText());
        assertEquals(String.valueOf(metricsPort), annotations.path("prometheus.io/port").asText());
        assertEquals(String.valueOf(metricsPort), option(onlyContainer(deployment), "--metrics-port"));
    }

    @Test
    void serviceMonitorScrapesTheServicesMetricsPort() throws IOException {
        JsonNode monitor = object("ServiceMonitor");
        JsonNode service = object("Service");
        JsonNode serviceLabels = service.path("metadata").path("labels");
        monitor.path("spec").path("selector").path("matchLabels").fields().forEachRemaining(label ->
                assertEquals(label.getValue().asText(), serviceLabels.path(label.getKey()).asText(), "service label " + label.getKey()));
        Set<String> servicePorts = new TreeSet<>();
        service.path("spec").path("ports").forEach(p -> servicePorts.add(p.path("name").asText()));
        for (JsonNode endpoint : monitor.path("spec").path("endpoints")) {
            assertTrue(servicePorts.contains(endpoint.path("port").asText()), "the Service has port " + endpoint.path("port"));
            assertEquals("/metrics", endpoint.path("path").asText());
        }
    }

    @Test
    void trainerJobReadsItsConfigFromTheConfigMap() throws IOException {
        JsonNode job = object("Job");
        JsonNode configMap = object("ConfigMap");
        JsonNode trainer = onlyContainer(job);
        String configFile = option(trainer, "--config");
        Path configPath = Path.of(configFile);
        JsonNode configMount = null;
        for (JsonNode mount : trainer.path("volumeMounts")) {
            if (mount.path("mountPath").asText().equals(configPath.getParent().toString())) {
                configMount = mount;
            }
        }
        assertTrue(configMount != null, "a volume is mounted at " + configPath.getParent());
        String volumeName = configMount.path("name").asText();
        JsonNode volume = null;
        for (JsonNode v : job.path("spec").path("template").path("spec").path("volumes")) {
            if (v.path("name").asText().equals(volumeName)) {
                volume = v;
            }
        }
        assertEquals(configMap.path("metadata").path("name").asText(), volume.path("configMap").path("name").asText());
        assertTrue(configMap.path("data").has(configPath.getFileName().toString()),
                "the ConfigMap has the key " + configPath.getFileName());
    }

    @Test
    void trainerConfigIsYamlThatPointsAtTheServerServiceWithTheSecretsToken() throws IOException {
        JsonNode job = object("Job");
        String configText = object("ConfigMap").path("data").path("trainer.yaml").asText();
        JsonNode config = Yaml.MAPPER.readTree(configText);
        String serviceName = object("Service").path("metadata").path("name").asText();
        int grpcPort = containerPort(onlyContainer(object("Deployment")), "grpc");
        assertEquals(serviceName + ":" + grpcPort, config.path("rollout").path("servers").get(0).asText());
        String tokenFile = config.path("rollout").path("auth_token_file").asText();
        assertTrue(mountedFiles(job).contains(tokenFile), tokenFile + " is mounted from the Secret: " + mountedFiles(job));
    }

    @Test
    void trainerJobRunsOnceWithoutRestarts() throws IOException {
        JsonNode job = object("Job");
        assertEquals("Never", job.path("spec").path("template").path("spec").path("restartPolicy").asText());
        assertEquals(0, job.path("spec").path("backoffLimit").asInt());
    }
}
