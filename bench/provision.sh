#!/usr/bin/env bash
# A warm second `jetdoc provision` against the first, side by side (hyperfine), and the bytes each
# moved.
#
#   bench/provision.sh       # needs: docker (a running daemon), docker-registry, busybox-static,
#                            # hyperfine, python3; cargo for the release build
#
# Everything is on loopback and test-owned: a docker-registry holding a busybox base (pushed
# with the running daemon), a Python HTTP server for the wheel index and the ZED installer
# stand-in (it logs every request), and a copy of the x86-workstation fixture root as the device
# (its state lands in that copy). The profile: the base, one wheel, the ZED stand-in, one file,
# one smoke test; no GPU runtime (the daemon here has none), `--network none` builds.
#   first     fresh cache, no state, no image: fetch, pull, build, smoke, tag
#   second    the same command again: jetdoc must say "up to date" with nothing transferred
# Target: the second under 1 s and zero bytes (and zero requests) to the servers.
set -euo pipefail

bench=provision
# shellcheck source=bench/provision-rig.sh
source "$(dirname "$0")/provision-rig.sh"

provision="$jetdoc --root $work/root --live-commands --checks-dir $work/checks.d provision $work/profile/bench.toml --yes --no-run --network none --cache-dir $work/cache --format json"
reset="rm -rf $work/cache $work/root/var/lib/jetdoc; docker images --format '{{.Repository}} {{.ID}}' | awk 'index(\$1, \"$tag_prefix\") == 1 || index(\$1, \"$reg/jetdoc-bench/\") == 1 {print \$2}' | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true"

echo "== one provision from nothing, then the same command again"
bash -c "$reset"
$provision >"$work/first.json"
python3 - "$work/first.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"first:  {r['result']}, {r.get('transferred_bytes', 0)} bytes transferred, image {r['state']['image']['id'][:19]}")
PY
requests_before=$(wc -l <"$work/web.log")
registry_before=$(grep -c '"GET \|"HEAD ' "$work/registry.log" || true)
$provision >"$work/second.json"
python3 - "$work/second.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"second: {r['result']}, image {r['state']['image']['id'][:19]}")
assert r["result"] == "up-to-date", r
PY
echo "requests to the download server during the second: $(( $(wc -l <"$work/web.log") - requests_before ))"
echo "requests to the registry during the second: $(( $(grep -c '"GET \|"HEAD ' "$work/registry.log" || true) - registry_before ))"

echo
echo "== side by side (hyperfine; the first is reset before each run, the second is not)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --runs "${RUNS:-5}" --export-json "$work/hyperfine.json" \
  --prepare "$reset" --prepare "true" \
  -n "first provision (fetch, pull, build, smoke)" "$provision" \
  -n "second provision (up to date)" "$provision"
requests_before=$(wc -l <"$work/web.log")
for _ in 1 2 3; do $provision >/dev/null; done
echo "requests to the download server during 3 more second runs: $(( $(wc -l <"$work/web.log") - requests_before ))"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
