#!/usr/bin/env bash
# Time to decide vs `docker pull` of an image that is already present, side by side (hyperfine).
#
#   bench/image-select.sh            # needs: docker (a running daemon), docker-registry, hyperfine,
#                                    # curl, jq, tar, gzip, sha256sum; cargo for the release build
#
# It starts a docker-registry on 127.0.0.1 (storage in a temp dir), pushes an arm64 + amd64 image
# behind an OCI index through the registry HTTP API (as the tests do), pulls the arm64 variant
# once into the running daemon, then times, with the AGX Orin r36.4.3 fixture as the host:
#   baseline      docker pull --platform linux/arm64 REF        (REF already present)
#   local hit     jetdoc image select --candidate REF           (docker image ls + inspect, rules)
#   registry      jetdoc image select --candidate REF2          (REF2 not local: HEAD + index +
#                                                              manifest + config blob, rules;
#                                                              first one `docker image ls` for
#                                                              other local tags of the repository)
#   docker image ls alone, to show what share of the registry path is the daemon's image listing
# and prints each jetdoc figure as a ratio of the baseline. Images it pulled are removed at exit.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
runs="${RUNS:-30}"
cd "$here"
cargo build --release --quiet
jetdoc="$here/target/release/jetdoc"
root="$here/tests/fixtures/image-select/agx-orin-r36.4.3"

work="$(mktemp -d /tmp/jetdoc-bench.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
reg="127.0.0.1:$port"
cleanup() {
  [[ -n "${regpid:-}" ]] && kill "$regpid" 2>/dev/null || true
  docker rmi -f "$reg/bench/l4t-pytorch:r36.4.0" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/storage"
cat >"$work/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: $reg
EOF
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
regpid=$!
for _ in $(seq 100); do curl -fs "http://$reg/v2/" >/dev/null && break; sleep 0.1; done

digest() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
size() { stat -c %s "$1"; }
push_blob() { # repo file -> digest
  local d loc; d="$(digest "$2")"
  loc="$(curl -fsSi -X POST "http://$reg/v2/$1/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')"
  [[ "$loc" == http* ]] || loc="http://$reg$loc"
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$loc&digest=$d" >/dev/null
  echo "$d"
}
push_manifest() { # repo ref mediatype file
  curl -fsS -X PUT -H "Content-Type: $3" --data-binary "@$4" "http://$reg/v2/$1/manifests/$2" >/dev/null
}
variant() { # repo arch -> "digest size" of its manifest; 3 one-file layers
  local repo="$1" arch="$2" layers="" diffs="" i
  for i in 1 2 3; do
    mkdir -p "$work/l/$arch$i/opt"; echo "layer $i $arch" >"$work/l/$arch$i/opt/f$i"
    tar -C "$work/l/$arch$i" --numeric-owner --owner=0 --group=0 -cf "$work/$arch$i.tar" .
    gzip -n -c "$work/$arch$i.tar" >"$work/$arch$i.tgz"
    layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"$(push_blob "$repo" "$work/$arch$i.tgz")\",\"size\":$(size "$work/$arch$i.tgz")}"
    diffs+="${diffs:+,}\"$(digest "$work/$arch$i.tar")\""
  done
  printf '{"architecture":"%s","os":"linux","config":{"Labels":{"io.jetdoc.l4t":"36.4.0","io.jetdoc.cuda":"12.6","io.jetdoc.ubuntu":"22.04"}},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$arch" "$diffs" >"$work/$arch.config"
  local cfg; cfg="$(push_blob "$repo" "$work/$arch.config")"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
    "$cfg" "$(size "$work/$arch.config")" "$layers" >"$work/$arch.manifest"
  local d; d="$(digest "$work/$arch.manifest")"
  push_manifest "$repo" "$d" application/vnd.oci.image.manifest.v1+json "$work/$arch.manifest"
  echo "$d $(size "$work/$arch.manifest")"
}
push_index() { # repo tag
  local a m
  read -r a asz < <(variant "$1" arm64)
  read -r m msz < <(variant "$1" amd64)
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"os":"linux","architecture":"amd64"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}' \
    "$m" "$msz" "$a" "$asz" >"$work/index.json"
  push_manifest "$1" "$2" application/vnd.oci.image.index.v1+json "$work/index.json"
}
push_index bench/l4t-pytorch r36.4.0
push_index bench/l4t-pytorch-remote r36.4.0
ref="$reg/bench/l4t-pytorch:r36.4.0"
remote="$reg/bench/l4t-pytorch-remote:r36.4.0"
docker pull -q --platform linux/arm64 "$ref" >/dev/null

export JETDOC_LIVE_COMMANDS=true NO_COLOR=1
"$jetdoc" image select --root "$root" --candidate "$ref" | grep -q 'use local' || { echo "local hit not chosen" >&2; exit 1; }
"$jetdoc" image select --root "$root" --candidate "$remote" | grep -q 'chosen   pull' || { echo "registry image not chosen" >&2; exit 1; }

hyperfine --warmup 3 --runs "$runs" --export-json "$work/result.json" \
  -n 'docker pull (already present)' "docker pull -q --platform linux/arm64 $ref" \
  -n 'jetdoc select (local hit)' "$jetdoc image select --root $root --candidate $ref" \
  -n 'jetdoc select (registry query)' "$jetdoc image select --root $root --candidate $remote" \
  -n 'docker image ls (one step of the registry path)' "docker image ls --format '{{.Repository}}:{{.Tag}}' --filter reference=$reg/bench/l4t-pytorch-remote"

jq -r '.results as $r | $r[0].mean as $base |
  ($r[] | "\(.command): mean \(.mean*1000|.*10|round/10) ms ± \(.stddev*1000|.*10|round/10) ms  ratio to docker pull \(.mean/$base|.*100|round/100)")' \
  "$work/result.json"
