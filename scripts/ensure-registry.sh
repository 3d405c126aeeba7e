#!/bin/sh
# Makes a Debian machine ready for `bench-runner push --local-registry` and the push test:
# installs Debian's docker-registry (distribution 2.8, a real OCI registry) and apache2-utils
# (htpasswd, which writes the registry's bcrypt password file) when they are missing. The
# package's own service, which would listen on port 5000 of every address, is kept from
# starting during the install (a policy-rc.d that denies every start, removed afterwards) and
# stopped if it runs anyway: the runner starts its registries itself, on loopback, each from
# a config and a password of its own, and stops them. Needs root, or sudo without a password,
# only to install. Fails with a message saying what went wrong.
set -eu

registry=/usr/bin/docker-registry
htpasswd=/usr/bin/htpasswd

script=ensure-registry
# shellcheck source=scripts/setup-lib.sh
. "$(dirname "$0")/setup-lib.sh"

if [ ! -x "$registry" ] || [ ! -x "$htpasswd" ]; then
    say "installing docker-registry and apache2-utils"
    install_without_services docker-registry apache2-utils
fi
[ -x "$registry" ] || fail "the docker-registry package is installed but $registry is missing"
[ -x "$htpasswd" ] || fail "the apache2-utils package is installed but $htpasswd is missing"
# The package's service, if anything started it, listens on port 5000 of every address.
service_config=/etc/docker/registry/config.yml
if pgrep -f "docker-registry serve $service_config" >/dev/null 2>&1; then
    say "stopping the docker-registry service the package started"
    as_root pkill -f "docker-registry serve $service_config" ||
        fail "could not stop the docker-registry service the package started"
fi
version=$("$registry" --version 2>&1) || fail "$registry --version failed: $version"
say "$registry: $version"
