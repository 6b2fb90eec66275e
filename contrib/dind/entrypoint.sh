#!/bin/sh
# Docker-in-Docker entrypoint of the jetdoc image matrix (/usr/local/bin/dind-entrypoint.sh in
# each image that carries DinD; source: contrib/dind/entrypoint.sh, docs/image-matrix.md).
#
# EE_DD=true   start dockerd in the container, wait until it answers, run the command with
#              DOCKER_HOST set, stop dockerd when the command ends and exit with its status.
# otherwise    exec the command: no daemon, nothing started, the command is PID 1.
#
# Settings (environment):
#   DOCKER_TLS_CERTDIR    /certs (the image's default): a CA, a server and a client certificate
#                         are generated there (kept when present) and dockerd also listens on
#                         tcp://0.0.0.0:2376 with --tlsverify; clients take $DOCKER_TLS_CERTDIR/client.
#                         Empty: no TLS and no TCP listener at all, only the unix socket.
#   EE_DD_ROOTLESS        auto (default): rootless when the container runs as a user other than
#                         root (needs rootlesskit, dockerd-rootless.sh and a /etc/subuid range);
#                         true: rootless or fail; false: rootful (root and --privileged).
#   EE_DD_STORAGE_DRIVER  default: fuse-overlayfs when rootless, or when /var/lib/docker sits on
#                         overlayfs (overlay2 cannot nest), and /dev/fuse and fuse-overlayfs are
#                         there; otherwise dockerd's own choice.
#   EE_DD_TLS_SAN         more subject alternative names for the server certificate (DNS:x,IP:y).
#   EE_DD_ARGS            more dockerd arguments (split on blanks).
#   EE_DD_TIMEOUT         seconds to wait for the daemon (default 60).
set -eu

log() { echo "dind-entrypoint: $*" >&2; }
die() {
  log "$*"
  exit 1
}

if [ "$#" -eq 0 ]; then
  set -- /bin/sh
fi

case "${EE_DD:-false}" in
  true | TRUE | True | 1 | yes) ;;
  *) exec "$@" ;;
esac

# As PID 1, let tini reap the daemon's orphans and pass signals on (when the image has it).
if [ "$$" -eq 1 ] && [ -z "${EE_DD_UNDER_INIT:-}" ] && command -v tini >/dev/null 2>&1; then
  EE_DD_UNDER_INIT=1 exec tini -s -- "$0" "$@"
fi

uid=$(id -u)
certdir=${DOCKER_TLS_CERTDIR-/certs}
timeout=${EE_DD_TIMEOUT:-60}
case "$timeout" in '' | *[!0-9]*) die "EE_DD_TIMEOUT=$timeout is not a number of seconds" ;; esac

# --- rootful or rootless --------------------------------------------------------------------
rootless_possible() {
  command -v rootlesskit >/dev/null 2>&1 || return 1
  command -v dockerd-rootless.sh >/dev/null 2>&1 || [ -x /usr/share/docker.io/contrib/dockerd-rootless.sh ] || return 1
  user=$(id -un 2>/dev/null || echo "$uid")
  grep -qs -e "^$user:" -e "^$uid:" /etc/subuid || return 1
}
rootless_why() {
  command -v rootlesskit >/dev/null 2>&1 || { echo "rootlesskit is not installed"; return; }
  command -v dockerd-rootless.sh >/dev/null 2>&1 || [ -x /usr/share/docker.io/contrib/dockerd-rootless.sh ] ||
    { echo "dockerd-rootless.sh is not installed"; return; }
  echo "user $(id -un 2>/dev/null || echo "$uid") has no range in /etc/subuid (usermod --add-subuids 100000-165535 USER)"
}
case "${EE_DD_ROOTLESS:-auto}" in
  true)
    rootless_possible || die "EE_DD_ROOTLESS=true, but rootless Docker cannot start: $(rootless_why)"
    rootless=true
    ;;
  false)
    [ "$uid" -eq 0 ] || die "EE_DD_ROOTLESS=false needs root (uid 0), this is uid $uid"
    rootless=false
    ;;
  auto)
    if [ "$uid" -eq 0 ]; then
      rootless=false
    elif rootless_possible; then
      rootless=true
    else
      die "running as uid $uid: rootless Docker cannot start ($(rootless_why)); or run as root with --privileged"
    fi
    ;;
  *) die "EE_DD_ROOTLESS=${EE_DD_ROOTLESS} is not auto, true or false" ;;
esac

if [ "$rootless" = true ]; then
  export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/docker-$uid}"
  mkdir -p "$XDG_RUNTIME_DIR"
  chmod 700 "$XDG_RUNTIME_DIR"
  socket="$XDG_RUNTIME_DIR/docker.sock"
  data_root="${HOME:-/tmp}/.local/share/docker"
else
  socket=/var/run/docker.sock
  data_root=/var/lib/docker
fi
mkdir -p "$data_root"

# --- TLS certificates ------------------------------------------------------------------------
# EC P-256 keys: quick to make (also under emulation), accepted by Docker's TLS.
gen_cert() { # dir cn usage [san]
  dir=$1 cn=$2 usage=$3 san=${4:-}
  mkdir -p "$dir"
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/key.pem" 2>/dev/null)
  openssl req -new -key "$dir/key.pem" -subj "/CN=$cn" -out "$dir/csr.pem"
  {
    echo "extendedKeyUsage = $usage"
    echo "basicConstraints = CA:FALSE"
    [ -z "$san" ] || echo "subjectAltName = $san"
  } >"$dir/openssl.cnf"
  openssl x509 -req -in "$dir/csr.pem" -CA "$certdir/ca/cert.pem" -CAkey "$certdir/ca/key.pem" \
    -CAcreateserial -days 825 -sha256 -extfile "$dir/openssl.cnf" -out "$dir/cert.pem" 2>/dev/null
  cp "$certdir/ca/cert.pem" "$dir/ca.pem"
  rm -f "$dir/csr.pem" "$dir/openssl.cnf"
  openssl verify -CAfile "$dir/ca.pem" "$dir/cert.pem" >/dev/null || die "the new certificate in $dir does not verify"
}
if [ -n "$certdir" ]; then
  command -v openssl >/dev/null 2>&1 || die "DOCKER_TLS_CERTDIR=$certdir, but openssl is not installed (or set DOCKER_TLS_CERTDIR= for no TLS)"
  if [ ! -s "$certdir/ca/cert.pem" ]; then
    log "generating a CA in $certdir/ca"
    mkdir -p "$certdir/ca"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$certdir/ca/key.pem" 2>/dev/null)
    openssl req -new -x509 -key "$certdir/ca/key.pem" -subj "/CN=docker:dind CA" -days 825 -sha256 \
      -out "$certdir/ca/cert.pem"
  fi
  if [ ! -s "$certdir/server/cert.pem" ]; then
    log "generating the server certificate in $certdir/server"
    san="DNS:docker,DNS:localhost,DNS:$(hostname),IP:127.0.0.1,IP:0:0:0:0:0:0:0:1"
    for ip in $(hostname -i 2>/dev/null || true); do
      case "$ip" in *[!0-9a-fA-F.:]* | '') ;; *) san="$san,IP:$ip" ;; esac
    done
    [ -z "${EE_DD_TLS_SAN:-}" ] || san="$san,$EE_DD_TLS_SAN"
    gen_cert "$certdir/server" docker serverAuth "$san"
  fi
  if [ ! -s "$certdir/client/cert.pem" ]; then
    log "generating the client certificate in $certdir/client"
    gen_cert "$certdir/client" "docker:dind client" clientAuth
    # a client in another container (sharing the volume) may run as another user
    chmod 0644 "$certdir/client/key.pem"
  fi
fi

# --- storage driver ------------------------------------------------------------------------
driver=${EE_DD_STORAGE_DRIVER:-}
if [ -z "$driver" ] && [ -e /dev/fuse ] && command -v fuse-overlayfs >/dev/null 2>&1; then
  fstype=$(stat -f -c %T "$data_root" 2>/dev/null || echo unknown)
  if [ "$rootless" = true ] || [ "$fstype" = overlayfs ]; then
    driver=fuse-overlayfs
  fi
fi

# --- start the daemon ------------------------------------------------------------------------
daemon_log=${EE_DD_LOG:-/tmp/dockerd.log}
start_daemon() {
  set -- "--host=unix://$socket"
  if [ -n "$certdir" ]; then
    set -- "$@" --host=tcp://0.0.0.0:2376 --tlsverify \
      "--tlscacert=$certdir/server/ca.pem" "--tlscert=$certdir/server/cert.pem" "--tlskey=$certdir/server/key.pem"
  fi
  [ -z "$driver" ] || set -- "$@" "--storage-driver=$driver"
  if [ -n "${EE_DD_ARGS:-}" ]; then
    set -f
    # shellcheck disable=SC2086 # split on blanks, as documented
    set -- "$@" $EE_DD_ARGS
    set +f
  fi
  if [ "$rootless" = true ]; then
    if [ -n "$certdir" ]; then
      # the TCP listener lives in rootlesskit's network namespace: publish it
      export DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS="${DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS:-} -p 0.0.0.0:2376:2376/tcp"
    fi
    rootless_sh=$(command -v dockerd-rootless.sh || echo /usr/share/docker.io/contrib/dockerd-rootless.sh)
    log "starting rootless dockerd $*"
    "$rootless_sh" "$@" >>"$daemon_log" 2>&1 &
  else
    log "starting dockerd $*"
    dockerd "$@" >>"$daemon_log" 2>&1 &
  fi
  daemon_pid=$!
}
daemon_pid=
start_daemon
export DOCKER_HOST="unix://$socket"

answers() {
  if command -v docker >/dev/null 2>&1; then
    docker version >/dev/null 2>&1
  else
    [ -S "$socket" ]
  fi
}
# five polls a second (GNU and busybox sleep take fractions; a strict one waits a whole second)
polls=0
until answers; do
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    tail -n 20 "$daemon_log" >&2 || true
    if [ "$rootless" = true ]; then
      die "rootless dockerd exited (log above, $daemon_log); it needs --security-opt seccomp=unconfined --security-opt apparmor=unconfined and --device /dev/fuse"
    fi
    die "dockerd exited (log above, $daemon_log); a rootful daemon needs the container started with --privileged"
  fi
  if [ "$polls" -ge $((timeout * 5)) ]; then
    tail -n 20 "$daemon_log" >&2 || true
    kill -TERM "$daemon_pid" 2>/dev/null || true
    die "dockerd did not answer on $socket within ${timeout}s (EE_DD_TIMEOUT)"
  fi
  sleep 0.2 2>/dev/null || sleep 1
  polls=$((polls + 1))
done
log "dockerd is up ($DOCKER_HOST)"

# --- run the command, then stop the daemon ----------------------------------------------------
stop_daemon() {
  kill -TERM "$daemon_pid" 2>/dev/null || return 0
  n=0
  while kill -0 "$daemon_pid" 2>/dev/null && [ "$n" -lt 100 ]; do
    sleep 0.2 2>/dev/null || sleep 1
    n=$((n + 1))
  done
  kill -KILL "$daemon_pid" 2>/dev/null || true
}
# A non-interactive shell gives a background command /dev/null as its stdin: the container's
# stdin (`docker run -i`, an interactive shell) is handed to the command on fd 3 instead.
exec 3<&0
"$@" 0<&3 3<&- &
app_pid=$!
exec 3<&-
trap 'kill -TERM "$app_pid" 2>/dev/null || true' TERM INT HUP
while :; do
  set +e
  wait "$app_pid"
  status=$?
  set -e
  # a trapped signal interrupts wait while the command still runs: wait again
  kill -0 "$app_pid" 2>/dev/null || break
done
trap - TERM INT HUP
stop_daemon
exit "$status"
