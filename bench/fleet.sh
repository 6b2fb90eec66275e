#!/usr/bin/env bash
# Benchmark (issue 13, first half): what the Prometheus export costs. `jetdoc check --format
# prometheus` on a fixture root, side by side with hyperfine against node_exporter's scrape of
# jetdoc's textfile (a real prometheus-node-exporter on 127.0.0.1 with only the textfile
# collector, scraped with curl), plus node_exporter's own timing of its textfile collector
# (node_scrape_collector_duration_seconds) and the load of this shared machine.
# The Ansible half (run time per host as hosts grow) comes with `jetdoc provision`.
#
#   bench/fleet.sh [FIXTURE]   (default: tests/fixtures/sysroots/agx-orin-r36.4.3)
set -euo pipefail
cd "$(dirname "$0")/.."
fixture="${1:-tests/fixtures/sysroots/agx-orin-r36.4.3}"
for tool in hyperfine curl prometheus-node-exporter python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install $tool)" >&2; exit 2; }
done
cargo build --release --quiet
bin="$PWD/target/release/jetdoc"
args=(check --root "$fixture" --format prometheus)
[ -f "$fixture/commands.toml" ] && args+=(--commands "$fixture/commands.toml")

out="$(mktemp -d /tmp/jetdoc-bench-fleet.XXXXXX)"
mkdir "$out/textfile"
exporter=""
trap '[ -n "$exporter" ] && kill "$exporter" 2>/dev/null; rm -rf "$out"' EXIT
"$bin" "${args[@]}" --textfile "$out/textfile" >/dev/null || true
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prometheus-node-exporter --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
  --collector.textfile --collector.textfile.directory="$out/textfile" --web.disable-exporter-metrics \
  >"$out/exporter.log" 2>&1 &
exporter=$!
url="http://127.0.0.1:$port/metrics"
for _ in $(seq 1 100); do curl -sf -o /dev/null "$url" && break; sleep 0.1; done
curl -sf "$url" | grep -q '^jetdoc_device_info' || { cat "$out/exporter.log" >&2; echo "node_exporter does not serve jetdoc's series" >&2; exit 1; }

echo "load before: $(uptime | sed 's/.*load average: //')"
# Exit status 1 (a check failed) is a valid outcome for a doctor: -i keeps hyperfine going.
hyperfine -N -i --warmup 20 --runs 300 --export-json "$out/h.json" \
  -n jetdoc "$bin ${args[*]}" \
  -n node-exporter-scrape "curl -s -o /dev/null $url" >&2
echo "load after:  $(uptime | sed 's/.*load average: //')"

# node_exporter's own time for reading and parsing the textfile, over 200 scrapes.
for _ in $(seq 1 200); do
  curl -s "$url" | awk '/^node_scrape_collector_duration_seconds\{collector="textfile"\}/ {print $2}'
done >"$out/collector.txt"
python3 - "$out/h.json" "$out/collector.txt" "$out/textfile/jetdoc.prom" <<'PY'
import json, os, statistics, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
j, n = r["jetdoc"], r["node-exporter-scrape"]
c = [float(x) for x in open(sys.argv[2]) if x.strip()]
size = os.path.getsize(sys.argv[3])
lines = sum(1 for l in open(sys.argv[3]) if not l.startswith("#"))
print(f"jetdoc check --format prometheus: median {j['median']*1e3:.2f} ms (mean {j['mean']*1e3:.2f}, σ {j['stddev']*1e3:.2f})")
print(f"node_exporter scrape (curl):      median {n['median']*1e3:.2f} ms (mean {n['mean']*1e3:.2f}, σ {n['stddev']*1e3:.2f})")
print(f"ratio jetdoc/scrape = {j['median']/n['median']:.2f}x")
print(f"node_exporter textfile collector (its own timing, {len(c)} scrapes): median {statistics.median(c)*1e3:.2f} ms")
print(f"jetdoc.prom: {size} bytes, {lines} samples")
PY
