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
policy=/usr/sbin/policy-rc.d

script=ensure-nginx
# shellcheck source=scripts/setup-lib.sh
. "$(dirname "$0")/setup-lib.sh"

if [ ! -x "$nginx" ]; then
    say "installing nginx-light"
    placed_policy=
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy" ||
            fail "could not write $policy to keep nginx's service from starting"
        placed_policy=yes
    fi
    status=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends nginx-light </dev/null || status=$?
    [ -z "$placed_policy" ] || as_root rm -f "$policy"
    [ "$status" -eq 0 ] || fail "could not install nginx-light"
fi
[ -x "$nginx" ] || fail "the nginx-light package is installed but $nginx is missing"
# The package's service, if anything started it, listens on port 80 of every address.
if [ -f /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    say "stopping the nginx service the package started"
    as_root "$nginx" -s quit || fail "could not stop the nginx service the package started"
fi
version=$("$nginx" -v 2>&1) || fail "$nginx -v failed: $version"
say "$nginx: $version"
