# Shared by the setup scripts (ensure-docker.sh, ensure-chromium.sh, ensure-wrk.sh,
# ensure-nginx.sh), which source it after
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
