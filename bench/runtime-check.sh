#!/usr/bin/env bash
# Benchmark for issue 4: `jetdoc check --only containers` on this (live) host, side by side with
# the one command it cannot avoid, `docker info --format '{{json .}}'`. The ratio says what the
# 15 containers checks (daemon.json, dpkg status, toolkit files, CSVs, kernel modules, /etc/group)
# cost on top of asking the daemon once. Needs hyperfine and a running Docker daemon.
#
#   bench/runtime-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="target/release/jetdoc"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
docker info >/dev/null 2>&1 || { echo "Docker is not running: nothing to compare with" >&2; exit 2; }

# Exit status 1 (a check failed) is a valid outcome for a doctor: -i keeps hyperfine going.
hyperfine -N -i --warmup 5 --min-runs 50 --export-json "$out/h.json" \
  -n jetdoc "$bin check --only containers --format json" \
  -n docker-info "docker info --format '{{json .}}'"

python3 - "$out/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
j, d = r["jetdoc"], r["docker-info"]
print(f"jetdoc check --only containers: mean {j['mean']*1e3:.1f} ms (σ {j['stddev']*1e3:.1f})")
print(f"docker info --format json:      mean {d['mean']*1e3:.1f} ms (σ {d['stddev']*1e3:.1f})")
print(f"ratio jetdoc/docker-info = {j['mean']/d['mean']:.2f}")
PY
