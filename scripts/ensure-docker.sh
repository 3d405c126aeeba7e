#!/bin/sh
# Makes a fresh Debian machine ready for benchlab's image lab and its tests:
#   - installs Debian's Docker engine (docker.io), mmdebstrap, the Debian archive keyring and
#     openssl when they are missing (non-interactive, nothing else is touched when all are
#     present);
#   - generates, once, a CA, a server certificate for 127.0.0.1/localhost and a client
#     certificate under $BENCHLAB_ENGINE_TLS (default /var/lib/benchlab/engine-tls; keys
#     0600): the client's ca.pem, cert.pem and key.pem in its client/ directory, which is what
#     DOCKER_CERT_PATH points at;
#   - starts dockerd in the background when no engine answers, on the usual socket and with a
#     TLS listener on 127.0.0.1:2376 (loopback only: the remote-engine test's endpoint),
#     logging to $BENCHLAB_DOCKERD_LOG (default /tmp/benchlab-dockerd.log), and waits up to
#     $BENCHLAB_DOCKERD_WAIT seconds (default 60) for both to answer;
#   - restarts the dockerd it started itself (or the bare `dockerd` its older versions
#     started) when that one has no TLS listener yet, but only while no container runs: a
#     restart stops every container. An engine started otherwise (systemd, by hand with
#     other flags) is left alone, with what to add to its configuration.
# With DOCKER_HOST set, only checks that engine: a local one is not started or changed.
# Needs root, or sudo without a password. Fails with a message saying what went wrong.
set -eu

log="${BENCHLAB_DOCKERD_LOG:-/tmp/benchlab-dockerd.log}"
wait_seconds="${BENCHLAB_DOCKERD_WAIT:-60}"
tls_dir="${BENCHLAB_ENGINE_TLS:-/var/lib/benchlab/engine-tls}"
# Where the script records the dockerd it started, so a later run may restart that one.
started_record=/var/lib/benchlab/dockerd.pid
socket=unix:///var/run/docker.sock
# Loopback only, never 0.0.0.0: whoever reaches an engine's API is root on its machine.
tls_listener=tcp://127.0.0.1:2376

script=ensure-docker
# shellcheck source=scripts/setup-lib.sh
. "$(dirname "$0")/setup-lib.sh"

missing=""
{ command -v dockerd && command -v docker; } >/dev/null 2>&1 || missing="$missing docker.io"
command -v mmdebstrap >/dev/null 2>&1 || missing="$missing mmdebstrap"
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing="$missing debian-archive-keyring"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
if [ -n "$missing" ]; then
    say "installing$missing"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        fail "apt-get update failed"
    # shellcheck disable=SC2086 # the list is meant to split into package names
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        $missing </dev/null || fail "could not install$missing"
fi

if [ -n "${DOCKER_HOST:-}" ]; then
    if docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; then
        say "a Docker engine answers at DOCKER_HOST=$DOCKER_HOST; a local engine is left as it is"
        exit 0
    fi
    fail "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST; start it, or unset DOCKER_HOST to use a local one"
fi

# The certificates: one CA, the engine's certificate for the loopback listener and one client
# certificate, valid ten years. Generated in a temporary directory and moved in only when
# all are there, so an interrupted run leaves nothing half made.
generate_certificates() {
    work=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now: the trap removes this run's directory
    trap "rm -rf '$work'" EXIT
    (
        umask 077
        cd "$work"
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
        serial() { printf '0x%s' "$(openssl rand -hex 16)"; }
        key ca-key.pem
        openssl req -x509 -new -key ca-key.pem -out ca.pem -days 3650 -sha256 \
            -subj "/CN=benchlab engine CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign"
        printf '%s\n' "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
            "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext
        printf '%s\n' "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth" >client.ext
        for who in server client; do
            key "$who-key.pem"
            openssl req -new -key "$who-key.pem" -out "$who.csr" -subj "/CN=benchlab $who"
            openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca-key.pem \
                -set_serial "$(serial)" -days 3650 -sha256 -extfile "$who.ext" \
                -out "$who-cert.pem"
        done
        mkdir server client
        mv server-cert.pem server/cert.pem
        mv server-key.pem server/key.pem
        mv client-cert.pem client/cert.pem
        mv client-key.pem client/key.pem
        cp ca.pem client/ca.pem
        rm -f ./*.csr ./*.ext
        chmod 0644 ca.pem server/cert.pem client/ca.pem client/cert.pem
        chmod 0600 ca-key.pem server/key.pem client/key.pem
        chmod 0755 server client
    ) >/dev/null 2>"$work.err" || {
        cat "$work.err" >&2
        rm -f "$work.err"
        fail "openssl could not generate the engine's certificates"
    }
    rm -f "$work.err"
    as_root mkdir -p "$(dirname "$tls_dir")"
    as_root rm -rf "$tls_dir"
    as_root cp -a "$work" "$tls_dir"
    as_root chown -R 0:0 "$tls_dir"
    as_root chmod 0755 "$tls_dir"
    # The client's key is as good as root on this machine; it belongs to whoever ran this.
    as_root chown -R "$(id -u):$(id -g)" "$tls_dir/client"
    rm -rf "$work"
    trap - EXIT
}

if [ -s "$tls_dir/server/cert.pem" ] && [ -s "$tls_dir/server/key.pem" ] &&
    [ -s "$tls_dir/client/cert.pem" ] && [ -s "$tls_dir/client/key.pem" ] &&
    [ -s "$tls_dir/client/ca.pem" ]; then
    say "the engine's TLS certificates are in $tls_dir"
else
    say "generating the engine's TLS certificates in $tls_dir (the client's in $tls_dir/client)"
    generate_certificates
fi

socket_answers() {
    env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH \
        docker -H "$socket" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

tls_answers() {
    env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH \
        docker --tlsverify --tlscacert "$tls_dir/client/ca.pem" \
        --tlscert "$tls_dir/client/cert.pem" --tlskey "$tls_dir/client/key.pem" \
        -H "$tls_listener" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

# The dockerd behind the socket, if this script (or an older version of it, which ran a bare
# `dockerd`) started it and no service manager owns it; nothing otherwise.
own_dockerd() {
    pid=$(cat /var/run/docker.pid 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker 2>/dev/null; then
        return 1
    fi
    if [ "$(cat "$started_record" 2>/dev/null)" = "$pid" ] ||
        [ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "dockerd " ]; then
        echo "$pid"
        return 0
    fi
    return 1
}

start_dockerd() {
    say "starting dockerd in the background on $socket and $tls_listener (TLS), log in $log"
    : >"$log" 2>/dev/null || as_root sh -c ": >'$log'"
    # setsid: the engine outlives this script and the shell or CI step that ran it. Its
    # launcher closes the descriptors this script inherited: run as
    # `flock /tmp/benchlab-docker.lock scripts/ensure-docker.sh`, the lock's descriptor would
    # otherwise live as long as the engine, and the lock would never be released.
    (
        exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
        as_root setsid dockerd -H "$socket" -H "$tls_listener" --tlsverify \
            --tlscacert "$tls_dir/ca.pem" --tlscert "$tls_dir/server/cert.pem" \
            --tlskey "$tls_dir/server/key.pem"
    ) >>"$log" 2>&1 </dev/null &
    launcher=$!
    waited=0
    until socket_answers && tls_answers; do
        if [ "$waited" -ge "$wait_seconds" ]; then
            tail -n 30 "$log" >&2 || true
            fail "dockerd did not answer on $socket and $tls_listener within ${wait_seconds} s; its log is $log"
        fi
        if [ ! -d "/proc/$launcher" ]; then
            tail -n 30 "$log" >&2 || true
            fail "dockerd exited; its log is $log"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    as_root mkdir -p "$(dirname "$started_record")"
    as_root sh -c "cat /var/run/docker.pid > '$started_record'" ||
        fail "could not record the dockerd it started in $started_record"
    say "dockerd answers after ${waited} s (API $(docker -H "$socket" version --format '{{.Server.APIVersion}}')), over TLS on $tls_listener too; log in $log"
}

if ! socket_answers; then
    say "no Docker engine answers"
    start_dockerd
    exit 0
fi
if tls_answers; then
    say "a Docker engine answers on $socket (API $(docker -H "$socket" version --format '{{.Server.APIVersion}}')) and over TLS on $tls_listener"
    exit 0
fi

# The engine runs without the TLS listener (an older version of this script started it).
if ! pid=$(own_dockerd); then
    fail "the Docker engine on $socket answers, but nothing answers over TLS on $tls_listener, and this script did not start that engine, so it leaves it alone. Add to its configuration (/etc/docker/daemon.json, or its command line): hosts [\"$socket\", \"$tls_listener\"], tlsverify true, tlscacert $tls_dir/ca.pem, tlscert $tls_dir/server/cert.pem, tlskey $tls_dir/server/key.pem; then restart it"
fi
running=$(docker -H "$socket" ps --format '{{.Names}}') ||
    fail "could not list the running containers before restarting dockerd"
if [ -n "$running" ]; then
    fail "dockerd (pid $pid) needs a restart for its TLS listener on $tls_listener, but containers run, and a restart would stop them: $(echo "$running" | tr '\n' ' ')- run this script again when they have finished (benchlab's own carry the label benchlab.run, benchlab.deploy or benchlab.test)"
fi
say "restarting dockerd (pid $pid), which has no TLS listener on $tls_listener yet"
as_root kill -TERM "$pid" || fail "could not stop dockerd (pid $pid)"
waited=0
while [ -d "/proc/$pid" ]; do
    if [ "$waited" -ge "$wait_seconds" ]; then
        fail "dockerd (pid $pid) did not exit within ${wait_seconds} s of SIGTERM; its log is $log"
    fi
    sleep 1
    waited=$((waited + 1))
done
start_dockerd
