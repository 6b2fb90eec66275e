#!/usr/bin/env bash
# Bundles (issue 12): the size of a bundle against the sum of its parts (what zstd saves), and
# provisioning from a bundle against provisioning over loopback, side by side (hyperfine).
#
#   bench/bundle.sh          # needs: docker (a running daemon), docker-registry, busybox-static,
#                            # hyperfine, python3; cargo for the release build
#
# The setup is bench/provision.sh's (bench/provision-rig.sh, sourced by both: a registry with a busybox base, a wheel index and a
# ZED stand-in on loopback, the x86-workstation fixture root as the device), then:
#   loopback  fresh cache, no state, no image: fetch, pull, build, smoke (bench/provision.sh's first)
#   bundle    fresh cache, no state, no image: `provision --bundle` (verify, docker load, smoke)
#   again     the same bundle once more: up to date (the bundle is verified, nothing loaded)
set -euo pipefail
bench=bundle
# shellcheck source=bench/provision-rig.sh
source "$(dirname "$0")/provision-rig.sh"

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
