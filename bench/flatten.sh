#!/usr/bin/env bash
# Flatten a 125-layer image three ways, side by side (hyperfine):
#   jetdoc image flatten IMAGE -t NEW   the layers of `docker save` merged into one, the config
#                                       kept exactly, `docker load` (jetdoc's route since issue 10)
#   old jetdoc route                    the Dockerfile jetdoc generated before: FROM IMAGE AS full,
#                                       FROM scratch, COPY --from=full / /, the config declared again,
#                                       built with the classic builder and --no-cache (as before)
#   docker export | docker import       the usual workaround
# then show what each result keeps of the image config, whether it runs, and jetdoc's peak RSS.
#
# Usage: bench/flatten.sh [PAYLOAD_MB]   (default 256: one layer of random data, so size means something)
# Needs: docker (classic builder), busybox-static, hyperfine, a release build of jetdoc
# (cargo build --release); GNU time for the RSS line. Uses the daemon DOCKER_HOST points at;
# images are prefixed jdbench-flat-. RUNS (default 5) runs each after one warm-up.
set -euo pipefail
PAYLOAD_MB=${1:-256}
RUNS=${RUNS:-5}
JETDOC=${JETDOC:-$(cd "$(dirname "$0")/.." && pwd)/target/release/jetdoc}
BUSYBOX=$(command -v busybox)
P=jdbench-flat
work=$(mktemp -d /tmp/jdbench-flat.XXXXXX)
cleanup() {
  docker rmi -f $P-deep:1 $P-new:1 $P-old:1 $P-export:1 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cp "$BUSYBOX" "$work/busybox"
echo x > "$work/l"
{
  echo 'FROM scratch'
  echo 'COPY busybox /bin/busybox'
  echo "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox --install -s /bin && mkdir -p /data && dd if=/dev/urandom of=/data/payload bs=1M count=$PAYLOAD_MB 2>/dev/null && ln /data/payload /data/payload.hardlink && ln -s /data/payload /data/payload.symlink\"]"
  echo 'ENV GREETING="hello from the deep base" PATH=/bin'
  echo 'WORKDIR /work'
  echo 'ENTRYPOINT ["/bin/sh", "-c"]'
  echo 'CMD ["echo $GREETING; pwd"]'
  for i in $(seq 1 122); do echo "COPY l /l/$i"; done
} > "$work/Dockerfile"
echo "building the 125-layer base (payload ${PAYLOAD_MB} MB)..." >&2
DOCKER_BUILDKIT=0 docker build -q --network=none -t $P-deep:1 "$work" >/dev/null
echo "base layers: $(docker image inspect -f '{{len .RootFS.Layers}}' $P-deep:1)" >&2

# The Dockerfile the previous jetdoc generated for this base (dockerfile::flatten at a4a7295).
mkdir -p "$work/empty"
cat > "$work/Dockerfile.old" <<EOF
FROM $P-deep:1 AS full

FROM scratch
COPY --from=full / /
ENV PATH="/bin" \\
    GREETING="hello from the deep base"
WORKDIR /work
ENTRYPOINT ["/bin/sh","-c"]
CMD ["echo \$GREETING; pwd"]
LABEL io.jetdoc.flattened.from="$P-deep:1" io.jetdoc.flattened.layers="125"
EOF

export JETDOC
hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$work/flatten.md" \
  --prepare "docker rmi -f $P-new:1 $P-old:1 $P-export:1 >/dev/null 2>&1 || true" \
  -n 'jetdoc image flatten (merge + docker load)' "$JETDOC -q image flatten $P-deep:1 -t $P-new:1" \
  -n 'old jetdoc route (Dockerfile COPY --from)' "DOCKER_BUILDKIT=0 docker build -q --no-cache -t $P-old:1 -f $work/Dockerfile.old $work/empty >/dev/null" \
  -n 'docker export | docker import' "c=\$(docker create $P-deep:1) && docker export \$c | docker import - $P-export:1 >/dev/null && docker rm \$c >/dev/null"
cat "$work/flatten.md"

# hyperfine's --prepare removed the results: make each once more for the comparison.
if command -v /usr/bin/time >/dev/null; then
  /usr/bin/time -f "jetdoc image flatten: peak RSS %M KiB, %e s" "$JETDOC" -q image flatten $P-deep:1 -t $P-new:1 >/dev/null
else
  "$JETDOC" -q image flatten $P-deep:1 -t $P-new:1 >/dev/null
fi
DOCKER_BUILDKIT=0 docker build -q --no-cache -t $P-old:1 -f "$work/Dockerfile.old" "$work/empty" >/dev/null
c=$(docker create $P-deep:1) && docker export "$c" | docker import - $P-export:1 >/dev/null && docker rm "$c" >/dev/null

echo
printf '| image | layers | size (MB) | Env | WorkingDir | Entrypoint | Cmd | Labels |\n|---|---|---|---|---|---|---|---|\n'
for img in $P-deep:1 $P-new:1 $P-old:1 $P-export:1; do
  size=$(docker image inspect -f '{{.Size}}' "$img")
  docker image inspect -f "| $img | {{len .RootFS.Layers}} | $(awk -v s="$size" 'BEGIN{printf "%.1f", s/1e6}') | {{json .Config.Env}} | {{json .Config.WorkingDir}} | {{json .Config.Entrypoint}} | {{json .Config.Cmd}} | {{json .Config.Labels}} |" "$img"
done
echo
same() { [ "$(docker image inspect -f '{{json .Config}}' "$1")" = "$(docker image inspect -f '{{json .Config}}' $P-deep:1)" ] && echo yes || echo no; }
for img in $P-new:1 $P-old:1 $P-export:1; do
  printf '%s: config identical to the base: %s; docker run: ' "$img" "$(same "$img")"
  docker run --rm --network none "$img" 2>&1 | tr '\n' ' ' || true
  echo
done
