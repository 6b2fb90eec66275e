#!/usr/bin/env bash
# Benchmark (issue 13, first half): what the Prometheus export costs. `jetdoc check --format
# prometheus` on a fixture root, side by side with hyperfine against node_exporter's scrape of
# jetdoc's textfile (a real prometheus-node-exporter on 127.0.0.1 with only the textfile
# collector, scraped with curl), plus node_exporter's own timing of its textfile collector
# (node_scrape_collector_duration_seconds) and the load of this shared machine.
#
# The Ansible half: contrib/ansible's site.yml run by a real ansible-playbook against N hosts
# (containers of the minimal Debian of tests/ansible_support/prepare.sh in the system dockerd,
# named jetdoc-ansible-bench-*, removed afterwards), for N = 1, 3, 6: the first run (jetdoc and
# the lock file copied, check gathered; hyperfine's --prepare removes them before each run) and
# the second, up-to-date run, side by side with the baseline `ansible -m ping` against the same
# hosts (what any task costs through the docker connection), with the load of the machine.
#
#   bench/fleet.sh [FIXTURE]          the Prometheus half (default: tests/fixtures/sysroots/agx-orin-r36.4.3)
#   bench/fleet.sh ansible [N...]     the Ansible half (default: 1 3 6)
set -euo pipefail
cd "$(dirname "$0")/.."

ansible_half() {
  local counts=("$@") runs="${RUNS:-2}"
  [ ${#counts[@]} -gt 0 ] || counts=(1 3 6)
  for tool in hyperfine docker python3 objcopy; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 2; }
  done
  local cache
  cache="$(tests/ansible_support/prepare.sh)"
  cargo build --release --quiet
  # Globals: the EXIT trap runs after this function has returned.
  out="$(mktemp -d /tmp/jetdoc-bench-ansible.XXXXXX)"
  image="jetdoc-ansible-bench:$$"
  local max=0 n i
  for n in "${counts[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
  cleanup() {
    docker rm -f $(docker ps -aq --filter "name=^jetdoc-ansible-bench-$$-") >/dev/null 2>&1 || true
    docker rmi "$image" >/dev/null 2>&1 || true
    rm -rf "$out"
  }
  trap cleanup EXIT
  docker import "$(ls "$cache"/rootfs-*.tar | head -1)" "$image" >/dev/null
  for i in $(seq 1 "$max"); do
    docker run -d --network none --name "jetdoc-ansible-bench-$$-$i" "$image" sleep infinity >/dev/null
    docker cp tests/fixtures/sysroots/agx-orin-r36.4.3 "jetdoc-ansible-bench-$$-$i:/srv/jetson-root"
  done
  mkdir -p "$out/files"
  objcopy --strip-debug target/release/jetdoc "$out/files/jetdoc"
  printf 'schema = 1\n' >"$out/files/team.lock"
  export ANSIBLE_CONFIG="$PWD/contrib/ansible/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$cache/collections" \
    ANSIBLE_HOME="$out/home" ANSIBLE_NOCOLOR=1 LC_ALL=C.UTF-8
  local playbook="$cache/venv/bin/ansible-playbook" adhoc="$cache/venv/bin/ansible"
  echo "ansible-core $("$playbook" --version | sed -n 1p | grep -o '[0-9][0-9.]*'), $(nproc) cores; runs per figure: $runs"
  for n in "${counts[@]}"; do
    local inv="$out/inventory-$n.yml" reset=""
    {
      echo "robots:"; echo "  hosts:"
      for i in $(seq 1 "$n"); do echo "    jetdoc-ansible-bench-$$-$i:"; done
      echo "  vars: {ansible_connection: community.docker.docker, ansible_become: false,"
      echo "         ansible_python_interpreter: /usr/bin/python3, jetdoc_src: $out/files/jetdoc,"
      echo "         jetdoc_lock_src: $out/files/team.lock, jetdoc_root: /srv/jetson-root, jetdoc_report_dir: $out/report}"
    } >"$inv"
    for i in $(seq 1 "$n"); do
      reset+="docker exec jetdoc-ansible-bench-$$-$i rm -rf /usr/local/bin/jetdoc /etc/jetdoc; "
    done
    echo "--- $n host(s); load before: $(uptime | sed 's/.*load average: //')"
    # One --prepare per command: only the first run starts from bare hosts; the second command
    # runs after the first, on hosts that are up to date.
    (cd contrib/ansible && hyperfine --runs "$runs" --export-json "$out/h-$n.json" \
      --prepare "$reset" -n "first" "$playbook -i $inv site.yml" \
      --prepare true -n "second" "$playbook -i $inv site.yml" \
      --prepare true -n "ping" "$adhoc -i $inv robots -m ansible.builtin.ping" >/dev/null)
    echo "load after:  $(uptime | sed 's/.*load average: //')"
    python3 - "$out/h-$n.json" "$n" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
ping = r["ping"]["median"]
for name, label in (("first", "first run (install, lock, gather)"), ("second", "second run (up to date)")):
    m = r[name]["median"]
    times = ", ".join(f"{t:.1f}" for t in r[name]["times"])
    print(f"{label:36s} median {m:6.1f} s  ({m / n:5.1f} s per host, {m / ping:4.1f}x ping; runs {times})")
print(f"{'baseline: ansible -m ping':36s} median {ping:6.1f} s  ({ping / n:5.1f} s per host)")
PY
  done
}
if [ "${1:-}" = ansible ]; then shift; ansible_half "$@"; exit; fi
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
