#!/bin/sh
# Makes a machine ready for the ECR and ECS tests, which run against moto (the AWS API
# emulator) instead of AWS: installs moto 5.2.5 with its ECR and ECS extras, flask 3.1.3 and
# flask-cors 6.0.5 into a Python venv at /opt/benchlab/moto-5.2.5 (BENCHLAB_MOTO_PREFIX
# overrides the place), so /opt/benchlab/moto-5.2.5/bin/moto_server, where the tests look, and
# the venv's boto3, which they use as a second client, exist. The three are pinned exactly
# (pip picks their dependencies, boto3 among them, within moto's ranges): the tests rely on
# what this moto does (the statuses a task goes through, the fixed ECR login it hands out,
# what RunTask needs), and the server's flask must be one that moto works with; a newer
# release could change any of it under an unchanged test. The venv is made from Debian's
# /usr/bin/python3 (python3-venv is installed when venv cannot bootstrap pip), so any user
# can run it. It is built beside its place and renamed into it only once complete, so an
# interrupted install never leaves a venv that looks ready; once it is there nothing is
# touched. Nothing is started: each test starts its own moto_server on loopback and stops it.
# Needs root, or sudo without a password, only to install. Fails with a message saying what
# went wrong.
set -eu
umask 022

version=5.2.5
prefix=${BENCHLAB_MOTO_PREFIX:-/opt/benchlab/moto-$version}
python=/usr/bin/python3

script=ensure-moto
# shellcheck source=scripts/setup-lib.sh
. "$(dirname "$0")/setup-lib.sh"

case "$prefix" in
    /*) ;;
    *) fail "BENCHLAB_MOTO_PREFIX must be an absolute path, not '$prefix'" ;;
esac
prefix=${prefix%/}

if [ ! -x "$prefix/bin/moto_server" ]; then
    [ ! -e "$prefix" ] ||
        fail "$prefix exists but has no bin/moto_server: remove it and run this script again"
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        say "installing python3-venv"
        install_without_services python3-venv
    fi
    "$python" -c 'import ensurepip, venv' >/dev/null 2>&1 ||
        fail "python3-venv is installed but $python still cannot make a venv with pip"

    # Built beside its place, on the same file system, so the final rename is atomic. A venv
    # names its own path in its scripts' #! lines and in pyvenv.cfg, and compiled modules name
    # their sources: those are written for the final path before the rename.
    staging="$(dirname "$prefix")/.$(basename "$prefix").partial"
    say "installing moto $version into $prefix"
    as_root mkdir -p "$(dirname "$prefix")" || fail "could not create $(dirname "$prefix")"
    as_root rm -rf "$staging" || fail "could not remove $staging, left by an interrupted install"
    as_root "$python" -m venv --prompt "$(basename "$prefix")" "$staging" ||
        fail "could not create a venv in $staging"
    as_root "$staging/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-compile "moto[ecr,ecs]==$version" flask==3.1.3 flask-cors==6.0.5 ||
        fail "pip could not install moto $version, flask 3.1.3 and flask-cors 6.0.5"
    as_root "$staging/bin/python" -c 'import boto3, flask, flask_cors, moto.server' ||
        fail "moto $version is installed in $staging but does not import"
    from=$(printf '%s' "$staging" | sed 's/[].[*^$|\\]/\\&/g')
    to=$(printf '%s' "$prefix" | sed 's/[&|\\]/\\&/g')
    as_root grep -rlIF "$staging" "$staging" | while IFS= read -r file; do
        as_root sed -i "s|$from|$to|g" "$file" || exit 1
    done || fail "could not point the scripts of $staging at $prefix"
    as_root "$staging/bin/python" -m compileall -q -f -s "$staging" -p "$prefix" \
        "$staging/lib" >/dev/null || fail "could not compile the modules in $staging"
    if as_root grep -rqF "$staging" "$staging"; then
        fail "files in $staging still name it after pointing them at $prefix"
    fi
    as_root mv -T "$staging" "$prefix" || fail "could not move $staging to $prefix"
    "$prefix/bin/moto_server" --help >/dev/null ||
        fail "$prefix/bin/moto_server is installed but does not run"
fi

installed=$("$prefix/bin/python" -c '
from importlib.metadata import version
print(" ".join(f"{name} {version(name)}" for name in ("moto", "flask", "flask-cors", "boto3")))
') || fail "could not read the versions installed in $prefix"
case "$installed" in
    "moto $version "*) say "$prefix/bin/moto_server: $installed" ;;
    *) fail "$prefix holds $installed, not moto $version: remove it and run this script again" ;;
esac
