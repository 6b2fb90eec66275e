#!/usr/bin/env bash
# Builds jetdoc with cargo and installs the binary. Idempotent: a second run rebuilds only what
# changed and replaces the binary atomically.
# Usage: ./install.sh [--prefix DIR]   (default: /usr/local as root, ~/.local otherwise)
#        [--textfile DIR]   also install jetdoc-textfile.{service,timer} (PREFIX/lib/systemd/system):
#                           metrics for node_exporter's textfile collector in DIR, every minute
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --textfile) [ $# -ge 2 ] || { echo "install.sh: --textfile needs a directory" >&2; exit 2; }; textfile="$2"; shift 2 ;;
    --textfile=*) textfile="${1#--textfile=}"; shift ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "${textfile:-}" ]; then
  # The path goes into unit files, where spaces, quotes and % (a specifier) have meanings.
  case "$textfile" in
    /*) ;; *) echo "install.sh: --textfile needs an absolute directory, not $textfile" >&2; exit 2 ;;
  esac
  if printf '%s' "$textfile$prefix" | LC_ALL=C grep -q '[^A-Za-z0-9/._+@:-]'; then
    echo "install.sh: --textfile and --prefix may hold only letters, digits and / . _ + @ : - in unit files" >&2; exit 2
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  cat >&2 <<'MSG'
install.sh: cargo (the Rust toolchain) is not installed.
  Install it with rustup:  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
  or on Ubuntu/Debian:     sudo apt install cargo
  then run ./install.sh again.
MSG
  exit 1
fi

echo "building jetdoc (release)..." >&2
cargo build --release --locked --quiet
mkdir -p "$prefix/bin"
# Copy then rename: never leaves a half-written binary, even while an old one is running.
tmp="$prefix/bin/.jetdoc.tmp.$$"
install -m 0755 target/release/jetdoc "$tmp"
mv -f "$tmp" "$prefix/bin/jetdoc"
echo "installed $prefix/bin/jetdoc ($("$prefix/bin/jetdoc" --version))" >&2
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" >&2 ;;
esac

# --textfile DIR: the systemd timer that refreshes DIR/jetdoc.prom for node_exporter.
if [ -n "${textfile:-}" ]; then
  [ -d "$textfile" ] || echo "note: $textfile does not exist yet; node_exporter reads it (prometheus-node-exporter creates /var/lib/prometheus/node-exporter)" >&2
  unitdir="$prefix/lib/systemd/system"
  mkdir -p "$unitdir"
  for unit in jetdoc-textfile.service jetdoc-textfile.timer; do
    sed -e "s|/usr/local/bin/jetdoc|$prefix/bin/jetdoc|" -e "s|/var/lib/prometheus/node-exporter|$textfile|" \
      "contrib/systemd/$unit" > "$unitdir/.$unit.tmp"
    mv -f "$unitdir/.$unit.tmp" "$unitdir/$unit"
  done
  echo "installed $unitdir/jetdoc-textfile.service and .timer (writes $textfile/jetdoc.prom every minute)" >&2
  # Enabled only where systemd looks for units by itself: another prefix (a staging directory,
  # a test) never changes the running system.
  if [ "$unitdir" = /usr/local/lib/systemd/system ] && [ "$(id -u)" = 0 ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now jetdoc-textfile.timer
  elif [ "$unitdir" = /usr/local/lib/systemd/system ]; then
    echo "note: not enabled (needs root and a running systemd): systemctl enable --now jetdoc-textfile.timer" >&2
  else
    echo "note: not enabled ($unitdir is not on systemd's unit path); as root:" >&2
    echo "  systemctl link $unitdir/jetdoc-textfile.service $unitdir/jetdoc-textfile.timer && systemctl enable --now jetdoc-textfile.timer" >&2
  fi
fi

