#!/bin/sh
# Makes a Debian machine ready for the test that renders report.html in a browser
# (bench-runner report --screenshot): installs Debian's Chromium and a font for the charts'
# text (chromium, fonts-dejavu-core; no recommends, non-interactive) when /usr/bin/chromium,
# where the runner looks, is missing; nothing is touched when it is there.
# $BENCHLAB_CHROMIUM, when set, names the executable the runner uses instead, and must exist.
# Needs root, or sudo without a password, only to install. Fails with a message saying what
# went wrong.
set -eu

chromium=/usr/bin/chromium

script=ensure-chromium
# shellcheck source=scripts/setup-lib.sh
. "$(dirname "$0")/setup-lib.sh"

if [ -n "${BENCHLAB_CHROMIUM:-}" ]; then
    [ -x "$BENCHLAB_CHROMIUM" ] ||
        fail "BENCHLAB_CHROMIUM=$BENCHLAB_CHROMIUM is not an executable; unset it to use Debian's chromium"
    say "using $BENCHLAB_CHROMIUM (BENCHLAB_CHROMIUM)"
    exit 0
fi

if [ ! -x "$chromium" ]; then
    say "installing chromium"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        fail "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        chromium fonts-dejavu-core </dev/null || fail "could not install chromium"
fi
[ -x "$chromium" ] || fail "the chromium package is installed but $chromium is missing"
say "$chromium: $("$chromium" --version 2>/dev/null | tail -n 1)"
