# The trainer: GRPO / RLOO against one or more rollout servers; Prometheus /metrics on 9401.
#
# Same build context as server.Dockerfile (deploy/README.md):
#   docker build -f deploy/images/trainer.Dockerfile -t rollout-trainer deploy/target/image
# Mount the training config at /etc/rollout/trainer.yaml (the Kubernetes Job mounts its ConfigMap there).
ARG BASE_IMAGE=eclipse-temurin:17-jre
FROM ${BASE_IMAGE}

# glibc's malloc keeps the buffers libtorch frees in per-thread arenas (a bench peaked at 7.8 GB RSS for a 120 MB
# model, 2.3 GB with jemalloc: docs/benchmarks.md), so jemalloc serves every process of the image. The base image may
# have it already (deploy/images/build-base-image.sh includes it); a fixed path keeps LD_PRELOAD the same on every
# architecture. The processes log which allocator they got ("native memory allocator: ...").
RUN lib="$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2 2>/dev/null | head -n 1)" \
 && if [ -z "$lib" ]; then \
      apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libjemalloc2 \
      && rm -rf /var/lib/apt/lists/* && lib="$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2 | head -n 1)"; \
    fi \
 && ln -s "$lib" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
# Keep the pages jemalloc frees rather than hand them back to the kernel, as bin/launch.sh does: faulting a training
# step's freed tensors back in, zeroed, was a quarter of the trainer's CPU time (docs/operations.md has the cost in RSS).
ENV MALLOC_CONF=dirty_decay_ms:-1

ARG UID=10001
# The same first layers as server.Dockerfile, so both images share them.
RUN groupadd --system --gid "${UID}" rollout \
 && useradd --system --uid "${UID}" --gid rollout --create-home --home-dir /home/rollout --shell /usr/sbin/nologin rollout
COPY lib/ /opt/rollout/lib/
COPY app/ /opt/rollout/lib/
RUN mkdir -p /var/lib/rollout && chown rollout:rollout /var/lib/rollout

USER rollout
WORKDIR /var/lib/rollout
ENV OPT_OUT_TRACKING=true
# libtorch's idle OpenMP threads sleep instead of spinning (see dev.rollout.model.TorchThreads)
ENV OMP_WAIT_POLICY=PASSIVE
EXPOSE 9401

# A run to completion, not a service: its exit status is its health (a Kubernetes Job reads it).
HEALTHCHECK NONE

ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "--add-modules", "jdk.incubator.vector", "-Doffline=true", "-Djava.awt.headless=true", "-cp", "/opt/rollout/lib/*", "dev.rollout.trainer.cli.Main"]
CMD ["train", "--config", "/etc/rollout/trainer.yaml"]
