#!/usr/bin/env bash
# A warm second `jetdoc provision` against the first, side by side (hyperfine), and the bytes each
# Bundles (issue 12): the size of a bundle against the sum of its parts (what zstd saves), and
# provisioning from a bundle against provisioning over loopback, side by side (hyperfine).
#
#   bench/bundle.sh          # needs: docker (a running daemon), docker-registry, busybox-static,
#                            # hyperfine, python3; cargo for the release build
#
# The setup is bench/provision.sh's (copied: a registry with a busybox base, a wheel index and a
# ZED stand-in on loopback, the x86-workstation fixture root as the device), then:
#   loopback  fresh cache, no state, no image: fetch, pull, build, smoke (bench/provision.sh's first)
#   bundle    fresh cache, no state, no image: `provision --bundle` (verify, docker load, smoke)
#   again     the same bundle once more: up to date (the bundle is verified, nothing loaded)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
cargo build --release --quiet
jetdoc="$here/target/release/jetdoc"
for tool in docker docker-registry hyperfine python3; do
  command -v "$tool" >/dev/null || { echo "bench/bundle.sh needs $tool" >&2; exit 2; }
done
busybox="$(command -v busybox)" || { echo "bench/bundle.sh needs busybox-static" >&2; exit 2; }

work="$(mktemp -d /tmp/jetdoc-bench-bundle.XXXXXX)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
reg="127.0.0.1:$(port)"
base="$reg/jetdoc-bench/busybox:1"
tag_prefix="jetdoc/bench-bundle"
cleanup() {
  [[ -n "${regpid:-}" ]] && kill "$regpid" 2>/dev/null || true
  [[ -n "${webpid:-}" ]] && kill "$webpid" 2>/dev/null || true
  remove_images
  rm -rf "$work"
}
# Images this script made (tagged, or pulled by digest and so untagged), by id.
remove_images() {
  docker images --format '{{.Repository}} {{.ID}}' | awk -v a="$tag_prefix" -v b="$reg/jetdoc-bench/" 'index($1, a) == 1 || index($1, b) == 1 {print $2}' | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The registry, and the base pushed into it.
mkdir -p "$work/storage"
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: $reg
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
regpid=$!
for _ in $(seq 100); do curl -fs "http://$reg/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

mkdir -p "$work/rootfs/bin" "$work/rootfs/usr/local/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp "$busybox" "$work/rootfs/bin/busybox"
for a in sh ls cat echo mkdir rm chmod ln test unzip sleep true '['; do ln -sf busybox "$work/rootfs/bin/$a"; done
cat >"$work/rootfs/usr/local/bin/pip-standin" <<'SH'
#!/bin/sh
set -e
while [ $# -gt 0 ]; do case "$1" in --find-links) dir="$2"; shift;; esac; shift; done
mkdir -p /usr/lib/python3/site-packages
for w in "$dir"/*.whl; do unzip -o -q "$w" -d /usr/lib/python3/site-packages; done
SH
chmod 755 "$work/rootfs/usr/local/bin/pip-standin"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
docker import -c 'ENV PATH=/usr/local/bin:/bin' -c 'CMD ["/bin/sh"]' "$work/rootfs.tar" "$base" >/dev/null
docker push "$base" >/dev/null
docker rmi "$base" >/dev/null

# The downloads: a PEP 503 index with one pure wheel, and the ZED installer stand-in.
mkdir -p "$work/www/simple/jdbench" "$work/www/files" "$work/www/zed"
python3 - "$work/www" <<'PY'
import hashlib, sys, zipfile, io, os
root = sys.argv[1]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("jdbench/__init__.py", "VALUE = 1\n")
    z.writestr("jdbench-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: jdbench\nVersion: 1.0\n")
    z.writestr("jdbench-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr("jdbench-1.0.dist-info/RECORD", "")
data = buf.getvalue()
name = "jdbench-1.0-py3-none-any.whl"
open(os.path.join(root, "files", name), "wb").write(data)
sha = hashlib.sha256(data).hexdigest()
open(os.path.join(root, "simple/jdbench/index.html"), "w").write(f'<a href="/files/{name}#sha256={sha}">{name}</a>\n')
PY
printf '#!/bin/sh\nmkdir -p /usr/local/zed && echo "$*" > /usr/local/zed/installed\n' >"$work/www/zed/ZED_SDK_Ubuntu22_cuda12.4_v5.0.0.zstd.run"
web="127.0.0.1:$(port)"
(cd "$work/www" && exec python3 -m http.server --bind 127.0.0.1 "${web#*:}") >"$work/web.log" 2>&1 &
webpid=$!
for _ in $(seq 100); do curl -fs "http://$web/simple/jdbench/" >/dev/null 2>&1 && break; sleep 0.1; done

mkdir -p "$work/checks.d"
cat >"$work/checks.d/bench.toml" <<EOF
[[zed_url]]
platform = "x86_64"
pattern = "http://$web/zed/ZED_SDK_Ubuntu22_cuda12.4_v5.0.0.zstd.run"
EOF
mkdir -p "$work/profile/app"
echo "bench app" >"$work/profile/app/hello.txt"
cat >"$work/profile/bench.toml" <<EOF
name = "bench-bundle"
[platforms.x86_64]
gpu = false
[[base]]
platform = "x86_64"
candidates = [{ image = "$base", python = "3.10" }]
[python]
requirements = ["jdbench>=1.0"]
indexes = ["http://$web/simple/"]
pip = "/usr/local/bin/pip-standin"
[zed]
variant = "x86-devel"
[[files]]
src = "app"
dest = "/opt/app"
[run]
runtime = "none"
network = "none"
[[smoke]]
name = "the wheel, the ZED stand-in and the app are there"
command = ["/bin/sh", "-c", "test -f /usr/lib/python3/site-packages/jdbench/__init__.py && test -f /usr/local/zed/installed && cat /opt/app/hello.txt"]
EOF
cp -a "$here/tests/fixtures/sysroots/x86-workstation" "$work/root"

common="$jetdoc --root $work/root --live-commands --checks-dir $work/checks.d"
provision="$common provision $work/profile/bench.toml --yes --no-run --network none --cache-dir $work/cache --format json"
from_bundle="$common provision $work/profile/bench.toml --yes --no-run --cache-dir $work/cache --format json --bundle $work/bench.bundle"
reset="rm -rf $work/cache $work/root/var/lib/jetdoc; docker images --format '{{.Repository}} {{.ID}}' | awk 'index(\$1, \"$tag_prefix\") == 1 || index(\$1, \"$reg/jetdoc-bench/\") == 1 {print \$2}' | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true"

echo "== the bundle"
bash -c "$reset"
$jetdoc --checks-dir "$work/checks.d" bundle "$work/profile/bench.toml" --for-root "$work/root" --network none \
  --cache-dir "$work/bundle-cache" -o "$work/bench.bundle" --format json >"$work/manifest.json"
python3 - "$work/manifest.json" "$work/bench.bundle" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
size = os.path.getsize(sys.argv[2])
img = m["image"]
parts = img["uncompressed_size"] + sum(x["size"] for x in m["members"] if x["kind"] != "image")
stored = sum(x["size"] for x in m["members"])
image_member = next(x for x in m["members"] if x["kind"] == "image")
print(f"image (docker save)   {img['uncompressed_size']:>12,} bytes -> {image_member['size']:>12,} in the bundle ({img['compression']}, {image_member['size'] / img['uncompressed_size']:.1%})")
for x in m["members"]:
    if x["kind"] != "image":
        print(f"{x['kind']:<21} {x['size']:>12,} bytes")
print(f"sum of the parts      {parts:>12,} bytes")
print(f"bundle file           {size:>12,} bytes ({size / parts:.1%} of the parts; tar headers and manifest {size - stored:,} bytes)")
PY
bash -c "$reset"

echo
echo "== side by side (hyperfine; cache, state and images reset before each run of the first two)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --runs "${RUNS:-5}" --export-json "$work/hyperfine.json" \
  --prepare "$reset" --prepare "$reset" --prepare "true" \
  -n "provision over loopback (fetch, pull, build, smoke)" "$provision" \
  -n "provision --bundle (verify, load, smoke)" "$from_bundle" \
  -n "provision --bundle again (up to date)" "$from_bundle"
requests_before=$(wc -l <"$work/web.log")
registry_before=$(grep -c '"GET \|"HEAD ' "$work/registry.log" || true)
bash -c "$reset"
$from_bundle >"$work/from-bundle.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("from the bundle:", r["result"]); assert r["result"] == "provisioned", r' "$work/from-bundle.json"
echo "requests to the download server / registry during a provision from the bundle: $(( $(wc -l <"$work/web.log") - requests_before )) / $(( $(grep -c '"GET \|"HEAD ' "$work/registry.log" || true) - registry_before ))"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
