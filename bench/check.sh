#!/usr/bin/env bash
# Benchmark: `jetdoc check --root <fixture> --format json` against `/bin/true`, side by side with
# hyperfine (the floor of any process start-up on this machine), plus the binary's size, its
# dynamic relocations and jetdoc's peak RSS. Target (issue 16): median <= 2x `/bin/true`.
# The machine is shared: the load average is printed with each round; take the figures when it
# is lowest. Three rounds by default, each a median over many runs.
# Usage: bench/check.sh [FIXTURE] [ROUNDS]   (default: tests/fixtures/sysroots/agx-orin-r36.4.3, 3)
#        BIN=path/to/jetdoc bench/check.sh    (measure that binary instead of building one)
#        WITH_COMMANDS=1 bench/check.sh       (also answer commands from the fixture's commands.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
fixture="${1:-tests/fixtures/sysroots/agx-orin-r36.4.3}"
rounds="${2:-3}"
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 2; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked --quiet
  BIN=target/release/jetdoc
fi
# The production path for a foreign root: files only, no command run. WITH_COMMANDS=1 adds the
# fixture's canned command answers (the test hook; its TOML parse is then part of the figure).
args=(check --root "$fixture" --format json)
if [ -n "${WITH_COMMANDS:-}" ] && [ -f "$fixture/commands.toml" ]; then args+=(--commands "$fixture/commands.toml"); fi
"$BIN" "${args[@]}" >/dev/null || [ $? -eq 1 ] || { echo "jetdoc check failed on $fixture" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "binary: $BIN, $(stat -c %s "$BIN") bytes, $(readelf -r "$BIN" | grep -c R_X86_64 || true) dynamic relocations, $(readelf -h "$BIN" | awk '/Type:/ {print $2}')"
for i in $(seq 1 "$rounds"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  hyperfine -N --warmup 100 --runs 1000 --export-json "$out/h$i.json" \
    -n jetdoc "$BIN ${args[*]}" \
    -n true "/bin/true" >/dev/null 2>&1
  python3 - "$out/h$i.json" "$i" "$load" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
j, t = r["jetdoc"]["median"], r["true"]["median"]
# CPU time (user + sys) moves less than wall time when other processes hold the cores.
cj = r["jetdoc"]["user"] + r["jetdoc"]["system"]
ct = r["true"]["user"] + r["true"]["system"]
print(f"round {sys.argv[2]} (load {sys.argv[3]}): jetdoc median {j*1000:.3f} ms, /bin/true median {t*1000:.3f} ms, "
      f"ratio {j/t:.2f}x; CPU time {cj*1000:.3f} ms vs {ct*1000:.3f} ms, {cj/ct:.2f}x")
PY
done
rss=$( { /usr/bin/time -v "$BIN" "${args[@]}" >/dev/null; } 2>&1 | awk -F': ' '/Maximum resident/ {print $2}')
echo "jetdoc peak RSS ${rss} KiB"
