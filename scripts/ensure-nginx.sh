#!/bin/sh
# Makes a Debian machine ready for the deploy lab, whose front proxy is nginx: installs
# Debian's nginx-light (no recommends, non-interactive) when /usr/sbin/nginx, where the runner
# looks, is missing. The package's own service is kept from starting during the install (a
# policy-rc.d that denies every start, removed afterwards) and stopped if it started anyway:
# the runner starts nginx itself, on loopback, from a config it generates, and nothing may be
# left listening. Needs root, or sudo without a password, only to install. Fails with a
# message saying what went wrong.
set -eu

nginx=/usr/sbin/nginx

script=ensure-nginx
# shellcheck source=scripts/setup-lib.sh
. "$(dirname "$0")/setup-lib.sh"

if [ ! -x "$nginx" ]; then
    say "installing nginx-light"
    install_without_services nginx-light
fi
[ -x "$nginx" ] || fail "the nginx-light package is installed but $nginx is missing"
# The package's service, if anything started it, listens on port 80 of every address.
if [ -f /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    say "stopping the nginx service the package started"
    as_root "$nginx" -s quit || fail "could not stop the nginx service the package started"
fi
version=$("$nginx" -v 2>&1) || fail "$nginx -v failed: $version"
say "$nginx: $version"
