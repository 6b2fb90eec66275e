#!/usr/bin/env bash
# Benchmark: `jetdoc check --root <fixture> --format json` against the start-up of the system
# Python interpreter (`/usr/bin/python3 -S -c pass`), side by side with hyperfine, plus jetdoc's
# peak RSS. Target (issue 3): jetdoc median <= 0.5x Python's, peak RSS < 20 MB.
# Usage: bench/check.sh [FIXTURE]   (default: tests/fixtures/sysroots/agx-orin-r36.4.3)
set -euo pipefail
cd "$(dirname "$0")/.."
fixture="${1:-tests/fixtures/sysroots/agx-orin-r36.4.3}"
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 2; }
[ -x /usr/bin/python3 ] || { echo "/usr/bin/python3 is needed as the baseline" >&2; exit 2; }
cargo build --release --quiet
bin=target/release/jetdoc
args=(check --root "$fixture" --format json)
[ -f "$fixture/commands.toml" ] && args+=(--commands "$fixture/commands.toml")
out=$(mktemp -d)
hyperfine -N --warmup 20 --runs 300 --export-json "$out/h.json" \
  -n jetdoc "$bin ${args[*]}" \
  -n python3 "/usr/bin/python3 -S -c pass" >&2
python3 - "$out/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
j, p = r["jetdoc"]["median"], r["python3"]["median"]
print(f"jetdoc median {j*1000:.2f} ms, python3 -S -c pass median {p*1000:.2f} ms, ratio {j/p:.2f}x")
PY
rss=$( { /usr/bin/time -v "$bin" "${args[@]}" >/dev/null; } 2>&1 | awk -F': ' '/Maximum resident/ {print $2}')
echo "jetdoc peak RSS ${rss} KiB ($(( rss / 1024 )) MiB)"
rm -rf "$out"
