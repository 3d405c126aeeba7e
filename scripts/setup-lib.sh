# Shared by the setup scripts (ensure-docker.sh, ensure-chromium.sh, ensure-wrk.sh,
# ensure-nginx.sh, ensure-registry.sh, ensure-moto.sh), which source it after
# setting $script to their name: messages prefixed with it, and running a command as root.

say() { printf '%s: %s\n' "$script" "$*"; }
fail() {
    printf '%s: error: %s\n' "$script" "$*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, else through sudo without a prompt.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        fail "'$*' needs root: run this script as root or install sudo"
    fi
}

# Installs Debian packages ($@) non-interactively, without recommends, with their services
# kept from starting: a policy-rc.d that denies every start is in place during the install
# (unless one already is) and removed afterwards. Fails naming the packages.
install_without_services() {
    policy=/usr/sbin/policy-rc.d
    placed_policy=
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy" ||
            fail "could not write $policy to keep the services of $* from starting"
        placed_policy=yes
    fi
    status=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "$@" </dev/null || status=$?
    [ -z "$placed_policy" ] || as_root rm -f "$policy"
    [ "$status" -eq 0 ] || fail "could not install $*"
}
