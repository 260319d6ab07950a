#!/usr/bin/env bash
# Shared by bin/rollout-server and bin/trainer: builds the jars when sources changed since the last build, then runs
# the given main class with the whole runtime classpath.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
main_class="$1"; shift
# PYTORCH_FLAVOR=cu128 (DJL's own variable) asks for libtorch's CUDA build: the jars are then built with -Pcuda, which
# leaves the CPU native jar out, and DJL loads cu128 from PYTORCH_LIBRARY_PATH or downloads it on first use.
flavor="${PYTORCH_FLAVOR:-cpu}"
profile=()
offline=true
if [[ "$flavor" == cu* ]]; then
  profile=(-Pcuda)
  export PYTORCH_FLAVOR="$flavor" PYTORCH_VERSION="${PYTORCH_VERSION:-2.7.1}"
  # without a local libtorch, DJL must reach its download site once
  [ -n "${PYTORCH_LIBRARY_PATH:-}" ] || offline=false
  stamp="$root/trainer-client/target/classpath-$flavor.txt"
else
  stamp="$root/trainer-client/target/classpath.txt"
fi

needs_build() {
  [ -f "$stamp" ] || return 0
  [ -n "$(find "$root/pom.xml" "$root/proto" "$root/common" "$root/rollout-server" "$root/trainer-client" \
      \( -path '*/target' -prune \) -o -type f -newer "$stamp" -print -quit 2>/dev/null)" ]
}

if needs_build; then
  # Launchers started together (a server and a trainer, two demos) build once: the others wait, then find it built.
  mkdir -p "$root/target"
  exec 9>"$root/target/build.lock"
  flock 9
  if needs_build; then
    echo "Building Rollout (first run or sources changed; about a minute)..." >&2
    (cd "$root" && ./mvnw -q -B ${profile[@]+"${profile[@]}"} -DskipTests package dependency:build-classpath \
        -Dmdep.outputFile="target/$(basename "$stamp")" -pl trainer-client -am >&2) || {
      echo "Build failed: run './mvnw -DskipTests package' in $root to see why." >&2; exit 1; }
    touch "$stamp" # the dependency plugin leaves an unchanged file untouched
  fi
  exec 9>&-
fi

cp="$root/proto/target/classes:$root/common/target/classes:$root/rollout-server/target/classes:$root/trainer-client/target/classes:$(cat "$stamp")"
export OPT_OUT_TRACKING=true
# libtorch's idle OpenMP threads sleep instead of spinning, so processes sharing cores do not starve each other
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# glibc's malloc keeps the buffers libtorch frees in per-thread arenas: the bench peaked at 7.8 GB RSS for a 120 MB
# model, 2.3 GB with jemalloc (docs/benchmarks.md). So jemalloc is preloaded when installed (Debian: libjemalloc2),
# unless LD_PRELOAD is already set or ROLLOUT_JEMALLOC=0.
# It is told to keep the pages it frees (dirty_decay_ms:-1, unless MALLOC_CONF is set): by default it handed a
# training step's tensors back to the kernel, which faulted them in again zeroed on the next step, about a quarter of
# the trainer's CPU time (5.7 against 4.2 s a step, docs/async.md "The trainer step") for a peak 16% higher.
if [ -z "${LD_PRELOAD:-}" ] && [ "${ROLLOUT_JEMALLOC:-1}" != 0 ]; then
  for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2; do
    if [ -f "$lib" ]; then
      export LD_PRELOAD="$lib" MALLOC_CONF="${MALLOC_CONF:-dirty_decay_ms:-1}"
      break
    fi
  done
fi
exec java ${ROLLOUT_JAVA_OPTS:--Xmx8g} --add-modules jdk.incubator.vector -Djava.awt.headless=true -Doffline="$offline" \
  -cp "$cp" "$main_class" "$@"
