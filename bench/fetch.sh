#!/usr/bin/env bash
# Download benchmark: jetdoc against curl, side by side under hyperfine, from a loopback server.
#
#   bench/fetch.sh [SIZE_MIB] [CASE...]      (default 256; needs curl, hyperfine, /usr/bin/time, python3)
#
# Cases (default: all of them, in this order):
#   single    one SIZE_MIB file:  curl -o  vs  jetdoc fetch url --sha256
#   large     one LARGE_MIB file (default 1024) on disk, the same two commands
#   parallel  4 files of SIZE_MIB: curl --parallel --parallel-max 4  vs  jetdoc fetch wheels --jobs 4
#             (4 wheels on a PEP 503 index: 4 small index pages, then the 4 downloads at once)
#   warm      a re-fetch from the cache: no request, no byte transferred
# Each case prints the medians, the throughputs, the ratio jetdoc/curl (>= 1.0x: jetdoc is at
# least as fast) and jetdoc's peak RSS; `uptime` is printed before each case, since the figures
# mean something only next to the machine's load.
#
# The server is a few lines of Python answering with sendfile(2), so that it is not the
# bottleneck of either client. Both clients write to the same directory (BENCH_DIR, default a
# fresh directory under /tmp), with a fresh cache for every jetdoc run. jetdoc does more than
# curl: sha256 of every byte (on a second thread), an fsync before the file enters the cache,
# and the placement in the output directory (a hard link); curl writes and exits.
#
#   RUNS=10 bench/fetch.sh 256 single      more runs of one case
#   JETDOC=/path/to/other/jetdoc bench/fetch.sh   another build against the same curl
#   BASELINE=/path/to/old/jetdoc bench/fetch.sh    adds the old build as a third command of the
#                                                  same hyperfine runs (before/after, same load)
set -euo pipefail
SIZE_MIB=${1:-256}
shift || true
CASES=${*:-single large parallel warm}
LARGE_MIB=${LARGE_MIB:-1024}
RUNS=${RUNS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JETDOC=${JETDOC:-$ROOT/target/release/jetdoc}
[ -x "$JETDOC" ] || (cd "$ROOT" && cargo build --release --bin jetdoc)
for tool in curl hyperfine python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/fetch.sh needs $tool" >&2; exit 2; }
done

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/jetdoc-bench.XXXXXX")
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/www/files" "$WORK/www/simple"

cat > "$WORK/serve.py" <<'PY'
import http.server, os, socketserver, sys
ROOT = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        path = os.path.normpath(os.path.join(ROOT, self.path.split("?")[0].lstrip("/")))
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        if not path.startswith(ROOT) or not os.path.isfile(path):
            self.send_error(404); return
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Type", "text/html" if path.endswith(".html") else "application/octet-stream")
        self.send_header("ETag", '"bench"')
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        with open(path, "rb") as f:
            self.connection.sendfile(f)
        self.close_connection = True
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$WORK/serve.py" "$WORK/www" > "$WORK/port" &
SERVER_PID=$!
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
BASE="http://127.0.0.1:$(cat "$WORK/port")"

# ratio JSON MIB LABEL: medians, throughputs and the same-run ratio from a hyperfine export.
ratio() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
mib, label = float(sys.argv[2]), sys.argv[3]
c, j = r["curl"]["median"], r["jetdoc"]["median"]
print(f"{label}: median curl {c*1000:.0f} ms ({mib / c:.0f} MiB/s), jetdoc {j*1000:.0f} ms ({mib / j:.0f} MiB/s); "
      f"ratio jetdoc/curl = {c / j:.2f}x (target >= 1.0x); runs {len(r['curl']['times'])}")
if "baseline" in r:
    b = r["baseline"]["median"]
    print(f"{label}: baseline {b*1000:.0f} ms ({mib / b:.0f} MiB/s); ratio baseline/curl = {c / b:.2f}x")
PY
}

# peak_rss CMD...: jetdoc's peak resident memory for one cold run.
peak_rss() {
  /usr/bin/time -v "$@" > /dev/null 2> "$WORK/time.txt"
  local kb
  kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")
  echo "jetdoc peak RSS: $((kb / 1024)) MiB (target < 50 MB)"
}

# one_file MIB NAME LABEL: curl vs jetdoc fetch url on one file.
one_file() {
  local mib=$1 name=$2 label=$3 sha url
  head -c $((mib * 1024 * 1024)) /dev/urandom > "$WORK/www/files/$name"
  sha=$(sha256sum "$WORK/www/files/$name" | cut -d' ' -f1)
  url="$BASE/files/$name"
  echo "== $label: $mib MiB over loopback, curl vs jetdoc (fresh cache each run); load: $(uptime | sed 's/.*load average: //')"
  local base=()
  [ -n "${BASELINE:-}" ] && base=(-n baseline "$BASELINE --format json fetch url $url --sha256 $sha --cache-dir $WORK/cache -o $WORK/out")
  hyperfine --warmup 1 --runs "$RUNS" --export-json "$WORK/$name.json" \
    --prepare "rm -rf $WORK/cache $WORK/out $WORK/curl.out" \
    -n curl "curl -sS -o $WORK/curl.out $url" \
    -n jetdoc "$JETDOC --format json fetch url $url --sha256 $sha --cache-dir $WORK/cache -o $WORK/out" \
    "${base[@]}" > "$WORK/hf.txt"
  ratio "$WORK/$name.json" "$mib" "$label"
  rm -rf "$WORK/cache" "$WORK/out" "$WORK/curl.out"
  peak_rss "$JETDOC" --format json fetch url "$url" --sha256 "$sha" --cache-dir "$WORK/cache" -o "$WORK/out"
  rm -rf "$WORK/cache" "$WORK/out"
}

for case in $CASES; do
  case $case in
    single) one_file "$SIZE_MIB" single.bin "single" ;;
    large)
      one_file "$LARGE_MIB" large.bin "large (on disk: ${BENCH_DIR:-/tmp})"
      rm -f "$WORK/www/files/large.bin"
      ;;
    parallel)
      : > "$WORK/req.txt"
      curl_args=()
      for i in 1 2 3 4; do
        whl="pkg$i-1.0-py3-none-any.whl"
        head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$WORK/www/files/$whl"
        sha=$(sha256sum "$WORK/www/files/$whl" | cut -d' ' -f1)
        mkdir -p "$WORK/www/simple/pkg$i"
        echo "<a href=\"/files/$whl#sha256=$sha\">$whl</a>" > "$WORK/www/simple/pkg$i/index.html"
        echo "pkg$i" >> "$WORK/req.txt"
        curl_args+=(-o "$WORK/curlp/$whl" "$BASE/files/$whl")
      done
      total=$((SIZE_MIB * 4))
      echo "== parallel: 4 x $SIZE_MIB MiB, curl --parallel vs jetdoc fetch wheels --jobs 4; load: $(uptime | sed 's/.*load average: //')"
      wheels_args=(--format json fetch wheels -r "$WORK/req.txt" --no-deps --index "$BASE/simple/"
           --python 3.10 --platform linux_x86_64 --jobs 4 --cache-dir "$WORK/cache" -o "$WORK/wh")
      jet=("$JETDOC" "${wheels_args[@]}")
      base=()
      [ -n "${BASELINE:-}" ] && base=(-n baseline "$BASELINE ${wheels_args[*]}")
      hyperfine --warmup 1 --runs "$RUNS" --export-json "$WORK/par.json" \
        --prepare "rm -rf $WORK/cache $WORK/wh $WORK/curlp; mkdir -p $WORK/curlp" \
        -n curl "curl -sS --parallel --parallel-max 4 ${curl_args[*]}" \
        -n jetdoc "${jet[*]}" "${base[@]}" > "$WORK/hf.txt"
      ratio "$WORK/par.json" "$total" "parallel"
      rm -rf "$WORK/cache" "$WORK/wh"
      peak_rss "${jet[@]}"
      rm -f "$WORK"/www/files/pkg*.whl
      ;;
    warm)
      [ -f "$WORK/www/files/single.bin" ] || head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$WORK/www/files/single.bin"
      url="$BASE/files/single.bin"
      sha=$(sha256sum "$WORK/www/files/single.bin" | cut -d' ' -f1)
      rm -rf "$WORK/cache" "$WORK/out"
      "$JETDOC" --format json fetch url "$url" --sha256 "$sha" --cache-dir "$WORK/cache" -o "$WORK/out" > /dev/null
      echo "== warm re-fetch (cache hit: no request); load: $(uptime | sed 's/.*load average: //')"
      "$JETDOC" --format json fetch url "$url" --sha256 "$sha" --cache-dir "$WORK/cache" -o "$WORK/out2" > "$WORK/warm1.json"
      python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("cached=%s transferred=%s bytes" % (j["cached"], j["transferred"]))' "$WORK/warm1.json"
      hyperfine -N --warmup 3 --runs 20 --export-json "$WORK/warm.json" --prepare "rm -rf $WORK/out2" \
        -n jetdoc-warm "$JETDOC --format json fetch url $url --sha256 $sha --cache-dir $WORK/cache -o $WORK/out2" > "$WORK/hf.txt"
      python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["results"][0]["median"]; print("warm re-fetch: median %.1f ms (target < 50 ms)" % (m * 1000))' "$WORK/warm.json"
      ;;
    *) echo "unknown case $case (single, large, parallel, warm)" >&2; exit 2 ;;
  esac
done
echo "load at the end: $(uptime | sed 's/.*load average: //')"
