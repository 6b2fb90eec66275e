#!/usr/bin/env bash
# Flatten a 125-layer image two ways, side by side:
#   jetdoc image flatten IMAGE -t NEW        (multi-stage COPY --from=full / /, config re-declared)
#   docker export $(docker create IMAGE) | docker import - NEW   (the usual workaround)
# and show what each result keeps of the image config.
#
# Usage: bench/flatten.sh [PAYLOAD_MB]   (default 256: one layer of random data, so size means something)
# Needs: docker (classic builder or BuildKit), busybox-static, hyperfine, a release build of jetdoc
# (cargo build --release). Uses the daemon DOCKER_HOST points at; images are prefixed jdbench-.
set -euo pipefail
PAYLOAD_MB=${1:-256}
RUNS=${RUNS:-5}
JETDOC=${JETDOC:-$(dirname "$0")/../target/release/jetdoc}
BUSYBOX=$(command -v busybox)
work=$(mktemp -d /tmp/jdbench.XXXXXX)
trap 'rm -rf "$work"' EXIT

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
DOCKER_BUILDKIT=0 docker build -q --network=none -t jdbench-deep:1 "$work" >/dev/null 2>&1
echo "base layers: $(docker image inspect -f '{{len .RootFS.Layers}}' jdbench-deep:1)" >&2

export JETDOC
hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$work/flatten.md" \
  --prepare 'docker rmi -f jdbench-flat:jetdoc jdbench-flat:export >/dev/null 2>&1 || true' \
  -n 'jetdoc image flatten' "$JETDOC -q image flatten jdbench-deep:1 -t jdbench-flat:jetdoc --no-cache" \
  -n 'docker export | docker import' 'c=$(docker create jdbench-deep:1) && docker export $c | docker import - jdbench-flat:export >/dev/null && docker rm $c >/dev/null'
cat "$work/flatten.md"
# hyperfine's --prepare removed the other tool's result: make both once more for the comparison.
"$JETDOC" -q image flatten jdbench-deep:1 -t jdbench-flat:jetdoc >/dev/null
c=$(docker create jdbench-deep:1) && docker export "$c" | docker import - jdbench-flat:export >/dev/null && docker rm "$c" >/dev/null

echo
printf '| image | layers | size (MB) | Env | WorkingDir | Entrypoint | Cmd |\n|---|---|---|---|---|---|---|\n'
for img in jdbench-deep:1 jdbench-flat:jetdoc jdbench-flat:export; do
  size=$(docker image inspect -f '{{.Size}}' "$img")
  docker image inspect -f "| $img | {{len .RootFS.Layers}} | $(awk -v s="$size" 'BEGIN{printf "%.1f", s/1048576}') | {{json .Config.Env}} | {{json .Config.WorkingDir}} | {{json .Config.Entrypoint}} | {{json .Config.Cmd}} |" "$img"
done
echo
for img in jdbench-flat:jetdoc jdbench-flat:export; do
  printf '%s: docker run: ' "$img"
  docker run --rm --network none "$img" 2>&1 | tr '\n' ' ' || true
  echo
done
docker rmi -f jdbench-deep:1 jdbench-flat:jetdoc jdbench-flat:export >/dev/null 2>&1 || true
