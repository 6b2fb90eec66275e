#!/usr/bin/env bash
# Prepares what tests/ansible.rs and bench/fleet.sh need, cached under target/ansible/ so that
# reruns take well under a second:
#   target/ansible/venv/            ansible-core (PyPI, pinned) in a virtual environment
#   target/ansible/collections/     community.docker (the `docker` connection plugin), taken
#                                   from the pinned `ansible` wheel on PyPI: Galaxy is not
#                                   reachable here, and PyPI's `ansible` package bundles it
#   target/ansible/rootfs-SUITE-ARCH.tar   a minimal Debian (mmdebstrap minbase + python3) that
#                                   the tests `docker import` as the image of their hosts
# Prints nothing but errors on success, except what it builds. Needs root for mmdebstrap
# (the CI runs as root); `--check` exits 0 when everything is already there, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

ANSIBLE_CORE=2.19.14   # controller Python >= 3.11
ANSIBLE=12.3.0         # the community package whose wheel carries community.docker 4.8.5
out="${JETDOC_ANSIBLE_CACHE:-$PWD/target/ansible}"
suite="$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}")"
arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
rootfs="$out/rootfs-$suite-$arch.tar"
stamp="$out/venv/.jetdoc-ansible-$ANSIBLE_CORE-$ANSIBLE"
collection="$out/collections/ansible_collections/community/docker/plugins/connection/docker.py"

ready() { [ -f "$stamp" ] && [ -f "$collection" ] && [ -s "$rootfs" ]; }
if [ "${1:-}" = "--check" ]; then ready; exit; fi
mkdir -p "$out"

if ! [ -f "$stamp" ] || ! [ -f "$collection" ]; then
  echo "prepare: ansible-core $ANSIBLE_CORE in $out/venv, community.docker from ansible $ANSIBLE" >&2
  rm -rf "$out/venv" "$out/collections" "$out/wheels"
  python3 -m venv "$out/venv"
  "$out/venv/bin/pip" install -q --disable-pip-version-check "ansible-core==$ANSIBLE_CORE"
  "$out/venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$out/wheels" "ansible==$ANSIBLE"
  mkdir -p "$out/collections"
  # Only the two collections the docker connection needs (community.docker declares the second).
  "$out/venv/bin/python" - "$out/wheels/ansible-$ANSIBLE-py3-none-any.whl" "$out/collections" <<'PY'
import sys, zipfile
wanted = ("ansible_collections/community/docker/", "ansible_collections/community/library_inventory_filtering_v1/")
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if n.startswith(wanted)]
    if not any(n.endswith("/connection/docker.py") for n in names):
        sys.exit(f"{sys.argv[1]} has no community.docker connection plugin")
    z.extractall(sys.argv[2], names)
PY
  rm -rf "$out/wheels"
  touch "$stamp"
fi

if ! [ -s "$rootfs" ]; then
  command -v mmdebstrap >/dev/null || { echo "prepare: mmdebstrap is needed (apt-get install mmdebstrap)" >&2; exit 2; }
  # The sources apt already uses on this machine (its mirror, its proxy settings), so the build
  # reaches the same Debian mirror as apt-get.
  mirrors=()
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -f "$f" ] && grep -qE '^[[:space:]]*(deb|Types:)' "$f" && mirrors+=("$f")
  done
  aptopts=()
  for f in /etc/apt/apt.conf.d/*; do
    grep -qiE 'proxy|Check-Valid-Until|Check-Date' "$f" 2>/dev/null && aptopts+=("--aptopt=$f")
  done
  echo "prepare: mmdebstrap $suite ($arch, minbase + python3) into $rootfs" >&2
  tmp="$rootfs.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  # minbase + python3 (Ansible's modules run on the host's Python); no docs, man pages or
  # locales; no /dev nodes (docker provides its own).
  mmdebstrap --quiet --variant=minbase --include=python3 --format=tar --skip=output/dev \
    "${aptopts[@]}" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    "$suite" "$tmp" "${mirrors[@]}"
  mv "$tmp" "$rootfs"
fi
echo "$out"
