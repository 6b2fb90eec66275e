#!/usr/bin/env bash
# Installs jetdoc: a prebuilt binary when one is given or lies next to this script, else built
# with cargo. Idempotent: a second run replaces the binary atomically.
# Usage: ./install.sh [--prefix DIR] [--binary FILE]
#   --prefix DIR   install to DIR/bin (default: /usr/local as root, ~/.local otherwise)
#   --binary FILE  install this prebuilt jetdoc (default: ./jetdoc-$(uname -m) or ./jetdoc beside install.sh)
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
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

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
  case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "note: $prefix/bin is not on your PATH; add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" >&2 ;;
  esac
  exit 0
fi

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
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" >&2 ;;
esac
