#!/bin/sh
# Makes a fresh Debian machine ready for benchlab's image lab and its tests:
#   - installs Debian's Docker engine (docker.io), mmdebstrap and the Debian archive keyring
#     when they are missing (non-interactive, nothing else is touched when all are present);
#   - starts dockerd in the background when no engine answers, logging to
#     $BENCHLAB_DOCKERD_LOG (default /tmp/benchlab-dockerd.log), and waits up to
#     $BENCHLAB_DOCKERD_WAIT seconds (default 60) for it to answer.
# Needs root, or sudo without a password. Fails with a message saying what went wrong.
set -eu

log="${BENCHLAB_DOCKERD_LOG:-/tmp/benchlab-dockerd.log}"
wait_seconds="${BENCHLAB_DOCKERD_WAIT:-60}"

script=ensure-docker
# shellcheck source=scripts/setup-lib.sh
. "$(dirname "$0")/setup-lib.sh"

missing=""
{ command -v dockerd && command -v docker; } >/dev/null 2>&1 || missing="$missing docker.io"
command -v mmdebstrap >/dev/null 2>&1 || missing="$missing mmdebstrap"
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing="$missing debian-archive-keyring"
if [ -n "$missing" ]; then
    say "installing$missing"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        fail "apt-get update failed"
    # shellcheck disable=SC2086 # the list is meant to split into package names
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        $missing </dev/null || fail "could not install$missing"
fi

engine_answers() {
    docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

if engine_answers; then
    say "a Docker engine answers (API $(docker version --format '{{.Server.APIVersion}}'))"
    exit 0
fi
if [ -n "${DOCKER_HOST:-}" ]; then
    fail "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST; start it, or unset DOCKER_HOST to use a local one"
fi

say "no Docker engine answers: starting dockerd in the background, log in $log"
: >"$log" 2>/dev/null || as_root sh -c ": >'$log'"
# setsid: the engine outlives this script and the shell or CI step that ran it.
as_root setsid dockerd >>"$log" 2>&1 </dev/null &
pid=$!

waited=0
until engine_answers; do
    if [ "$waited" -ge "$wait_seconds" ]; then
        tail -n 30 "$log" >&2 || true
        fail "dockerd did not answer within ${wait_seconds} s; its log is $log"
    fi
    if [ ! -d "/proc/$pid" ]; then
        tail -n 30 "$log" >&2 || true
        fail "dockerd exited; its log is $log"
    fi
    sleep 1
    waited=$((waited + 1))
done
say "dockerd answers after ${waited} s (API $(docker version --format '{{.Server.APIVersion}}')); log in $log"
