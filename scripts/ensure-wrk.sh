#!/bin/sh
# Makes a Debian machine ready for runs and tests that load a service with wrk (the second
# load generator beside oha, which is a library and needs no install): installs Debian's
# wrk 4.1 (no recommends, non-interactive) when /usr/bin/wrk, where the runner looks, is
# missing; nothing is touched when it is there. The runner reads wrk's figures through its
# Lua done() hook, which needs the LuaJIT build Debian ships; a wrk from elsewhere is not
# used. Needs root, or sudo without a password, only to install. Fails with a message saying
# what went wrong.
set -eu

wrk=/usr/bin/wrk

script=ensure-wrk
# shellcheck source=scripts/setup-lib.sh
. "$(dirname "$0")/setup-lib.sh"

if [ ! -x "$wrk" ]; then
    say "installing wrk"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        fail "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        wrk </dev/null || fail "could not install wrk"
fi
[ -x "$wrk" ] || fail "the wrk package is installed but $wrk is missing"
# wrk has no --version that exits 0, and Debian's build says "debian/<version>": ask dpkg.
version=$(dpkg-query -W -f='${Version}' wrk 2>/dev/null) ||
    fail "$wrk is there but dpkg has no wrk package: the runner needs Debian's (apt-get install wrk)"
case "$version" in
    4.1.*) say "$wrk: Debian's wrk $version" ;;
    *) fail "Debian's wrk is $version, not 4.1: the runner reads wrk 4.1's Lua report" ;;
esac
