# shellcheck shell=bash disable=SC2034  # sourced: the variables it sets are the callers'

# The loopback rig of bench/provision.sh and bench/bundle.sh, sourced by both (set `bench` to the
# script's name first): a docker-registry holding a busybox base (pushed with the running
# daemon), a Python HTTP server for a one-wheel PEP 503 index and the ZED installer stand-in (it
# logs every request), a copy of the x86-workstation fixture root as the device, and a profile
# with the base, the wheel, the ZED stand-in, one file and one smoke test. Cleans up on exit.
# Leaves: here, jetdoc, work, reg, web, base, tag_prefix; remove_images.
: "${bench:?set bench to the name of the calling script before sourcing}"
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here" || exit 2
cargo build --release --quiet
jetdoc="$here/target/release/jetdoc"
for tool in docker docker-registry hyperfine python3; do
  command -v "$tool" >/dev/null || { echo "bench/$bench.sh needs $tool" >&2; exit 2; }
done
busybox="$(command -v busybox)" || { echo "bench/$bench.sh needs busybox-static" >&2; exit 2; }

work="$(mktemp -d /tmp/jetdoc-bench-$bench.XXXXXX)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
reg="127.0.0.1:$(port)"
base="$reg/jetdoc-bench/busybox:1"
tag_prefix="jetdoc/bench-$bench"
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
name = "bench-$bench"
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

