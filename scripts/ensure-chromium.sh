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

say() { printf 'ensure-chromium: %s\n' "$*"; }
fail() {
    printf 'ensure-chromium: error: %s\n' "$*" >&2
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
