#!/usr/bin/env bash
# Builds jetdoc with cargo and installs the binary. Idempotent: a second run rebuilds only what
# changed and replaces the binary atomically.
# Usage: ./install.sh [--prefix DIR]   (default: /usr/local as root, ~/.local otherwise)
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

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
