#!/usr/bin/env bash
# Installs jetdoc: a prebuilt binary when one is given or lies next to this script, else built
# with cargo. Idempotent: a second run replaces the binary atomically.
# Usage: ./install.sh [--prefix DIR] [--binary FILE] [--textfile DIR]
#   --prefix DIR    install to DIR/bin (default: /usr/local as root, ~/.local otherwise)
#   --binary FILE   install this prebuilt jetdoc (default: ./jetdoc-$(uname -m) or ./jetdoc beside install.sh)
#   --textfile DIR  also install jetdoc-textfile.{service,timer} (PREFIX/lib/systemd/system):
#                   metrics for node_exporter's textfile collector in DIR, every minute
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
caller="$PWD"
cd "$here"

if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --binary) [ $# -ge 2 ] || { echo "install.sh: --binary needs a file" >&2; exit 2; }; binary="$2"; shift 2 ;;
    --binary=*) binary="${1#--binary=}"; shift ;;
    --textfile) [ $# -ge 2 ] || { echo "install.sh: --textfile needs a directory" >&2; exit 2; }; textfile="$2"; shift 2 ;;
    --textfile=*) textfile="${1#--textfile=}"; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# --- prebuilt binary (--binary FILE, or one shipped beside this script) ---
# The ELF e_machine of a file (bytes 18-19, little-endian), as the `uname -m` name it runs on.
elf_arch() {
  [ "$(od -An -tx1 -N4 "$1" 2>/dev/null | tr -d ' \n')" = 7f454c46 ] || return 0
  case "$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')" in
    3e00) echo x86_64 ;; b700) echo aarch64 ;; 2800) echo arm ;; *) echo "an unknown architecture" ;;
  esac
}
if [ -z "$binary" ]; then
  for found in "$here/jetdoc-$(uname -m)" "$here/jetdoc"; do
    [ -f "$found" ] && { binary="$found"; echo "found a prebuilt binary beside install.sh: $found" >&2; break; }
  done
fi
# Paths on the command line are the caller's, not relative to this script's directory.
case "$prefix" in /*) ;; *) prefix="$caller/$prefix" ;; esac
if [ -n "$binary" ]; then
  case "$binary" in /*) ;; *) binary="$caller/$binary" ;; esac
  [ -f "$binary" ] || { echo "install.sh: --binary $binary: no such file" >&2; exit 1; }
  arch="$(elf_arch "$binary")"
  if [ -z "$arch" ]; then
    echo "install.sh: $binary is not a program (no ELF executable): nothing installed." >&2
    exit 1
  elif [ "$arch" != "$(uname -m)" ]; then
    echo "install.sh: $binary is built for $arch, but this machine is $(uname -m): nothing installed." >&2
    echo "  use the jetdoc-$(uname -m) binary, or run ./install.sh from a source checkout to build with cargo" >&2
    exit 1
  fi
  mkdir -p "$prefix/bin"
  tmp="$prefix/bin/.jetdoc.tmp.$$"
  install -m 0755 "$binary" "$tmp"
  # It must start here (the copy is executable even when the download was not): a binary linked
  # against a newer glibc than this system's fails now, not at its first use.
  if ! version="$("$tmp" --version 2>&1)"; then
    rm -f "$tmp"
    echo "install.sh: $binary does not run on this machine: nothing installed." >&2
    printf '%s\n' "$version" | head -5 | sed 's/^/  /' >&2
    exit 1
  fi
  mv -f "$tmp" "$prefix/bin/jetdoc"
  echo "installed the prebuilt binary $binary as $prefix/bin/jetdoc ($version); nothing was built" >&2
else
  # --- no prebuilt binary: build with cargo ---
  if ! command -v cargo >/dev/null 2>&1; then
    cat >&2 <<MSG
install.sh: cargo (the Rust toolchain) is not installed.
  Install it with rustup:  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
  or on Ubuntu/Debian:     sudo apt install cargo
  then run ./install.sh again, or pass a prebuilt binary: ./install.sh --binary jetdoc-$(uname -m)
MSG
    exit 1
  fi

  echo "building jetdoc (release)..." >&2
  cargo build --release --locked --quiet
  mkdir -p "$prefix/bin"
  # Copy then rename: never leaves a half-written binary, even while an old one is running.
  tmp="$prefix/bin/.jetdoc.tmp.$$"
  install -m 0755 "${CARGO_TARGET_DIR:-target}/release/jetdoc" "$tmp"
  mv -f "$tmp" "$prefix/bin/jetdoc"
  echo "built with cargo and installed $prefix/bin/jetdoc ($("$prefix/bin/jetdoc" --version))" >&2
fi
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

