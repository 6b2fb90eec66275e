#!/usr/bin/env bash
# Download benchmark: jetdoc vs curl on a 512 MiB file from a loopback server, jetdoc's peak RSS,
# and a warm re-fetch from the cache.
#
#   bench/fetch.sh [SIZE_MIB]        (default 512; needs curl, hyperfine, /usr/bin/time, python3)
#
# The server is a few lines of Python that answers with sendfile(2), so that the server is not
# the bottleneck of either client. Both clients write to the same directory (BENCH_DIR, default a
# fresh directory under /tmp). jetdoc also hashes (sha256) and fsyncs what it writes; curl does
# neither.
set -euo pipefail
SIZE_MIB=${1:-512}
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

head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$WORK/big.bin"
SHA=$(sha256sum "$WORK/big.bin" | cut -d' ' -f1)

cat > "$WORK/serve.py" <<'PY'
import http.server, os, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        path = os.path.join(sys.argv[2], os.path.basename(self.path))
        if not os.path.isfile(path):
            self.send_error(404); return
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
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
python3 "$WORK/serve.py" 0 "$WORK" > "$WORK/port" &
SERVER_PID=$!
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$WORK/port")/big.bin"

echo "== cold download of ${SIZE_MIB} MiB over loopback: curl vs jetdoc (fresh cache each run)"
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$WORK/cold.json" \
  --prepare "rm -rf $WORK/cache $WORK/out $WORK/curl.out" \
  -n curl "curl -sS -o $WORK/curl.out $URL" \
  -n jetdoc "$JETDOC --format json fetch url $URL --sha256 $SHA --cache-dir $WORK/cache -o $WORK/out"
python3 - "$WORK/cold.json" "$SIZE_MIB" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
mib = float(sys.argv[2])
print(f"throughput: curl {mib / r['curl']:.0f} MiB/s, jetdoc {mib / r['jetdoc']:.0f} MiB/s, "
      f"ratio jetdoc/curl = {r['curl'] / r['jetdoc']:.2f}x (target >= 0.9x)")
PY

echo "== peak memory of a cold jetdoc download"
rm -rf "$WORK/cache" "$WORK/out"
/usr/bin/time -v "$JETDOC" --format json fetch url "$URL" --sha256 "$SHA" --cache-dir "$WORK/cache" -o "$WORK/out" \
  > /dev/null 2> "$WORK/time.txt"
RSS_KB=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")
echo "jetdoc peak RSS: $((RSS_KB / 1024)) MiB (target < 50 MB)"

echo "== warm re-fetch (cache hit: no request, no byte transferred)"
"$JETDOC" --format json fetch url "$URL" --sha256 "$SHA" --cache-dir "$WORK/cache" -o "$WORK/out2" > "$WORK/warm1.json"
python3 - "$WORK/warm1.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("cached=%s transferred=%s bytes" % (j["cached"], j["transferred"]))
PY
hyperfine --warmup 3 --runs 20 --export-json "$WORK/warm.json" \
  --prepare "rm -rf $WORK/out2" \
  -n jetdoc-warm "$JETDOC --format json fetch url $URL --sha256 $SHA --cache-dir $WORK/cache -o $WORK/out2"
python3 - "$WORK/warm.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"warm re-fetch: median {r['median'] * 1000:.1f} ms (target < 50 ms)")
PY
