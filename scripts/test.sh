#!/usr/bin/env bash
# The test command (README): what CI runs on a fresh clone. It installs what a fresh machine
# lacks (Docker's engine, mmdebstrap, Chromium, wrk, nginx, docker-registry and htpasswd, from
# Debian's packages, and moto, the AWS API emulator, from PyPI), starts dockerd when no engine
# answers, then checks formatting and lints and runs every test, the Docker, browser and AWS
# ones included: they are never skipped here.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "Docker engine and mmdebstrap"
scripts/ensure-docker.sh

step "Chromium, for the report's browser test"
scripts/ensure-chromium.sh

step "wrk, the second load generator"
scripts/ensure-wrk.sh

step "nginx, the deploy lab's front proxy"
scripts/ensure-nginx.sh

step "docker-registry and htpasswd, for the push test"
scripts/ensure-registry.sh

step "moto, the AWS API emulator for the ECR and ECS tests"
scripts/ensure-moto.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test"
cargo test --workspace
