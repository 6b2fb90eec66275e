#!/usr/bin/env bash
# Benchmark for issue 5: the whole `jetdoc check` (device probes included) on a device-probe
# fixture, side by side with the baseline `/usr/bin/python3 -S -c pass`. Target: jetdoc's mean
# at most 0.5x the baseline's. Also prints jetdoc's peak RSS (GNU time).
#
#   bench/device-probes.sh [FIXTURE]      default: zed2i-usb3
#
# Needs hyperfine and GNU time (/usr/bin/time); builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
case="${1:-zed2i-usb3}"
root="tests/fixtures/sysroots/$case"
[ -d "$root" ] || { echo "no fixture $root" >&2; exit 2; }
cargo build --release --quiet
bin="target/release/jetdoc"
jetdoc_cmd="$bin check --root $root --commands $root/commands.toml --format json"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Exit status 1 (a check failed) is a valid outcome for a doctor: -i keeps hyperfine going.
hyperfine -N -i --warmup 20 --min-runs 200 --export-json "$out/h.json" \
  -n jetdoc "$jetdoc_cmd" -n python3 "/usr/bin/python3 -S -c pass"

python3 - "$out/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
j, p = r["jetdoc"], r["python3"]
ratio = j["mean"] / p["mean"]
print(f"jetdoc mean {j['mean']*1e3:.2f} ms (σ {j['stddev']*1e3:.2f}, median {j['median']*1e3:.2f}), "
      f"python3 -S mean {p['mean']*1e3:.2f} ms (σ {p['stddev']*1e3:.2f}, median {p['median']*1e3:.2f})")
print(f"ratio jetdoc/python3: mean {ratio:.3f}, median {j['median'] / p['median']:.3f} (target <= 0.5): {'OK' if ratio <= 0.5 else 'TOO SLOW'}")
PY

# CPU time (task-clock) is insensitive to other load on the machine; wall time is not.
if command -v perf >/dev/null && perf stat -r 1 true >/dev/null 2>&1; then
  j=$(perf stat -x, -e task-clock -r 200 $jetdoc_cmd 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
  p=$(perf stat -x, -e task-clock -r 200 /usr/bin/python3 -S -c pass 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
  python3 -c "import sys; j, p = float(sys.argv[1]), float(sys.argv[2]); print(f'CPU time (perf task-clock, 200 runs): jetdoc {j:.2f} ms, python3 -S {p:.2f} ms, ratio {j / p:.3f}')" "$j" "$p"
fi

/usr/bin/time -v $jetdoc_cmd >/dev/null 2>"$out/time.txt" || true
grep -E "Maximum resident set size" "$out/time.txt"
