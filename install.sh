#!/usr/bin/env bash
# Installs jetdoc: a prebuilt binary when one is given or lies next to this script, else built
# with cargo. Idempotent: a second run replaces the binary atomically.
# Usage: ./install.sh [--prefix DIR] [--binary FILE] [--textfile DIR] [--first-boot PROFILE] [--destdir DIR]
#   --prefix DIR    install to DIR/bin (default: /usr/local as root, ~/.local otherwise)
#   --binary FILE   install this prebuilt jetdoc (default: ./jetdoc-$(uname -m) or ./jetdoc beside install.sh)
#   --textfile DIR  also install jetdoc-textfile.{service,timer} (PREFIX/lib/systemd/system):
#                   metrics for node_exporter's textfile collector in DIR, every minute
#   --first-boot PROFILE [--lock FILE]   also install jetdoc-provision.service, enabled: the robot
#                   runs `jetdoc provision PROFILE --yes --locked /etc/jetdoc/FILE` at boot until it
#                   succeeds (docs/first-boot.md)
#   --destdir DIR   stage everything under DIR (a rootfs or SD card to flash) instead of /
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
    --first-boot) [ $# -ge 2 ] || { echo "install.sh: --first-boot needs a profile name" >&2; exit 2; }; first_boot="$2"; shift 2 ;;
    --first-boot=*) first_boot="${1#--first-boot=}"; shift ;;
    --lock) [ $# -ge 2 ] || { echo "install.sh: --lock needs a file" >&2; exit 2; }; lock="$2"; shift 2 ;;
    --lock=*) lock="${1#--lock=}"; shift ;;
    --destdir) [ $# -ge 2 ] || { echo "install.sh: --destdir needs a directory" >&2; exit 2; }; destdir="$2"; shift 2 ;;
    --destdir=*) destdir="${1#--destdir=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# --first-boot, --lock, --destdir: checked before anything is built. With --destdir, PREFIX is the
# path on the robot (default /usr/local, as root runs it there) and everything lands under DIR.
if [ -n "${lock:-}" ] && [ -z "${first_boot:-}" ]; then
  echo "install.sh: --lock goes with --first-boot PROFILE" >&2; exit 2
fi
if [ -n "${destdir:-}" ]; then
  [ -z "${textfile:-}" ] || { echo "install.sh: --textfile cannot be staged with --destdir yet; install it on the robot" >&2; exit 2; }
  case "$destdir" in /*) ;; *) destdir="$caller/$destdir" ;; esac
  [ "$(id -u)" = 0 ] || [ "$prefix" != "$HOME/.local" ] || prefix=/usr/local
fi
robot_prefix="$prefix"
if [ -n "${first_boot:-}" ]; then
  # These go into the unit's command lines, where spaces, quotes, % and $ have meanings.
  lock_name="${lock:+$(basename -- "$lock")}"
  if printf '%s' "$first_boot$robot_prefix$lock_name" | LC_ALL=C grep -q '[^A-Za-z0-9/._+@:-]' \
    || case "$first_boot" in -*) true ;; *) false ;; esac; then
    echo "install.sh: --first-boot PROFILE, --prefix and the lock's file name may hold only letters, digits and / . _ + @ : - (they go into a systemd unit)" >&2; exit 2
  fi
  case "$robot_prefix" in /*) ;; *) echo "install.sh: --prefix needs an absolute directory with --first-boot" >&2; exit 2 ;; esac
  if [ -n "${lock:-}" ]; then
    case "$lock" in /*) ;; *) lock="$caller/$lock" ;; esac
    [ -f "$lock" ] || { echo "install.sh: --lock $lock: no such file (write one with: jetdoc provision $first_boot --lock FILE)" >&2; exit 1; }
  fi
  if [ -z "${destdir:-}" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: --first-boot writes /etc/systemd/system and /etc/jetdoc: run it as root, or stage into an image with --destdir DIR" >&2; exit 1
  fi
fi
[ -z "${destdir:-}" ] || prefix="$destdir$robot_prefix"

# --- prebuilt binary (--binary FILE, or one shipped beside this script) ---
# The ELF e_machine of a file (bytes 18-19, little-endian), as the `uname -m` name it runs on.
elf_arch() {
  [ "$(od -An -tx1 -N4 "$1" 2>/dev/null | tr -d ' \n')" = 7f454c46 ] || return 0
  case "$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')" in
    3e00) echo x86_64 ;; b700) echo aarch64 ;; 2800) echo arm ;; *) echo "an unknown architecture" ;;
  esac
}
# The architecture the binary must run on: this machine's, or when staging, the programs' of DIR
# (its /bin/sh, a link followed inside DIR); unknown for a DIR without one.
target_arch="$(uname -m)"
if [ -n "${destdir:-}" ]; then
  target_arch=""
  for sh in "$destdir/bin/sh" "$destdir/usr/bin/sh"; do
    if [ -L "$sh" ]; then
      t="$(readlink "$sh")"; case "$t" in /*) sh="$destdir$t" ;; *) sh="$(dirname "$sh")/$t" ;; esac
    fi
    [ -f "$sh" ] && { target_arch="$(elf_arch "$sh")"; break; }
  done
fi
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
  elif [ -n "$target_arch" ] && [ "$arch" != "$target_arch" ]; then
    echo "install.sh: $binary is built for $arch, but ${destdir:-this machine} is $target_arch: nothing installed." >&2
    echo "  use the jetdoc-$target_arch binary, or run ./install.sh from a source checkout to build with cargo" >&2
    exit 1
  fi
  mkdir -p "$prefix/bin"
  tmp="$prefix/bin/.jetdoc.tmp.$$"
  install -m 0755 "$binary" "$tmp"
  # It must start here (the copy is executable even when the download was not): a binary linked
  # against a newer glibc than this system's fails now, not at its first use. One staged for
  # another architecture (an aarch64 image prepared on an x86 laptop) can only start there.
  if [ "$arch" != "$(uname -m)" ]; then
    version="built for $arch; not started here"
  elif ! version="$("$tmp" --version 2>&1)"; then
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

  if [ -n "$target_arch" ] && [ "$target_arch" != "$(uname -m)" ]; then
    echo "install.sh: $destdir holds $target_arch programs, and cargo here builds for $(uname -m): pass --binary jetdoc-$target_arch (scripts/aarch64.sh builds one)" >&2
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

# --first-boot PROFILE: jetdoc-provision.service, enabled, and the lock it provisions from. The
# same files as `jetdoc first-boot install PROFILE --root DIR` (docs/first-boot.md).
if [ -n "${first_boot:-}" ]; then
  root="${destdir:-}"
  # Replaces $2 with the file $1 unless they are equal already (a second run changes nothing).
  put() {
    if [ -f "$2" ] && cmp -s "$1" "$2"; then rm -f "$1"; echo "unchanged $2" >&2; else mv -f "$1" "$2"; echo "installed $2" >&2; fi
  }
  execstart="$robot_prefix/bin/jetdoc provision $first_boot --yes"
  if [ -n "${lock:-}" ]; then
    mkdir -p "$root/etc/jetdoc"
    install -m 0644 "$lock" "$root/etc/jetdoc/.$lock_name.tmp"
    put "$root/etc/jetdoc/.$lock_name.tmp" "$root/etc/jetdoc/$lock_name"
    execstart="$execstart --locked /etc/jetdoc/$lock_name"
  else
    echo "note: no --lock: the robot resolves profile $first_boot itself at first boot; a lock pins every robot to the same image and files" >&2
  fi
  unitdir="$root/etc/systemd/system"
  mkdir -p "$unitdir/multi-user.target.wants"
  sed -e "s|^ExecStartPre=-/usr/local/bin/jetdoc |ExecStartPre=-$robot_prefix/bin/jetdoc |" \
      -e "s|^ExecStart=.*|ExecStart=$execstart|" \
      -e "s|^ExecStopPost=-.*|ExecStopPost=-$robot_prefix/bin/jetdoc first-boot record $first_boot|" \
      contrib/systemd/jetdoc-provision.service > "$unitdir/.jetdoc-provision.service.tmp"
  put "$unitdir/.jetdoc-provision.service.tmp" "$unitdir/jetdoc-provision.service"
  # What `systemctl enable` makes; by hand, so that a staged image needs no systemctl.
  link="$unitdir/multi-user.target.wants/jetdoc-provision.service"
  if [ -e "$link" ] && [ ! -L "$link" ]; then
    echo "install.sh: $link exists and is not a link: move it away and run again" >&2; exit 1
  fi
  if [ "$(readlink "$link" 2>/dev/null)" = /etc/systemd/system/jetdoc-provision.service ]; then
    echo "unchanged $link (enabled)" >&2
  else
    ln -sfn /etc/systemd/system/jetdoc-provision.service "$link"
    echo "enabled: $link -> /etc/systemd/system/jetdoc-provision.service" >&2
  fi
  if [ -n "$root" ]; then
    echo "staged first boot in $root: at its first boot the robot runs $execstart (until it succeeds)" >&2
  elif [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    echo "first boot runs at the next boot; to run it now: systemctl start --no-block jetdoc-provision.service; follow it with journalctl -fu jetdoc-provision.service" >&2
  fi
fi
