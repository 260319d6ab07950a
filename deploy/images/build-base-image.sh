#!/usr/bin/env bash
# Builds the two local base images the deploy tests use, without any container registry:
#   rollout/base-jre:17-bookworm    Debian bookworm (minbase) with a headless OpenJDK 17 JRE
#   rollout/prometheus:bookworm     the same system plus Debian's prometheus package
# Both come from one debootstrap tree imported with `docker import`. An image that already
# exists is kept (pass --force to rebuild both).
#
# Needs: root, a running Docker daemon, debootstrap, and Debian's package archive.
# Environment: ROLLOUT_BASE_IMAGE, ROLLOUT_PROMETHEUS_IMAGE override the names;
#              DEBIAN_MIRROR overrides debootstrap's default mirror.
set -euo pipefail

BASE_IMAGE="${ROLLOUT_BASE_IMAGE:-rollout/base-jre:17-bookworm}"
PROMETHEUS_IMAGE="${ROLLOUT_PROMETHEUS_IMAGE:-rollout/prometheus:bookworm}"
SUITE=bookworm

force=false
if [[ "${1:-}" == "--force" ]]; then force=true; fi

fail() { echo "build-base-image: $*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || fail "must run as root (debootstrap and chroot need it)"
command -v docker >/dev/null || fail "docker is not installed (apt-get install docker.io)"
docker info >/dev/null 2>&1 || fail "no Docker daemon answers; start one (dockerd &) and retry"
command -v debootstrap >/dev/null || fail "debootstrap is not installed (apt-get install debootstrap)"

exists() { docker image inspect "$1" >/dev/null 2>&1; }

if ! $force && exists "$BASE_IMAGE" && exists "$PROMETHEUS_IMAGE"; then
  echo "build-base-image: $BASE_IMAGE and $PROMETHEUS_IMAGE already exist"
  exit 0
fi

root="$(mktemp -d)"
cleanup() {
  # a failed chroot step can leave /proc mounted inside the tree
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

echo "build-base-image: debootstrap $SUITE into $root"
# libstdc++6 and libgomp1: the native PyTorch and tokenizer libraries that DJL unpacks at run time link them;
# libjemalloc2: the images preload it (server.Dockerfile says why).
debootstrap --variant=minbase --include=openjdk-17-jre-headless,libstdc++6,libgomp1,libjemalloc2 \
  "$SUITE" "$root" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >"$root.log" 2>&1 \
  || { tail -20 "$root.log" >&2; fail "debootstrap failed (full log: $root.log)"; }
rm -f "$root.log"

import() {
  local name="$1"
  # the package cache and lists are build leftovers, not part of an image
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$name" >/dev/null
  echo "build-base-image: imported $name"
}

if $force || ! exists "$BASE_IMAGE"; then import "$BASE_IMAGE"; fi

if $force || ! exists "$PROMETHEUS_IMAGE"; then
  echo "build-base-image: installing prometheus into the tree"
  mount -t proc proc "$root/proc"
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive bash -c \
    'apt-get update -q && apt-get install -y -q --no-install-recommends prometheus' >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; fail "installing prometheus failed (full log: $root.log)"; }
  umount "$root/proc"
  rm -f "$root.log"
  import "$PROMETHEUS_IMAGE"
fi
