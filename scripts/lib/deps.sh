# scripts/lib/deps.sh - sourced by scripts/*: makes sure the Debian 12
# packages jobrt needs are installed. As root it installs what is missing
# with apt-get; otherwise it names the command to run and stops.

JOBRT_DEPS=(build-essential cmake pkg-config libhiredis-dev libuv1-dev
            libcjson-dev libssl-dev libcriterion-dev libhttp-parser-dev
            libsystemd-dev redis-server redis-tools)

# ensure_deps [extra packages...]
ensure_deps() {
    local want=("${JOBRT_DEPS[@]}" "$@") missing=() p
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${missing[*]}" >&2
        echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "installing missing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ensure_commands WHO CMD:PACKAGE...: each CMD is on PATH, or its Debian
# PACKAGE is installed with apt-get (as root). Returns 0, or 77 when one
# is missing and cannot be installed (not root, or apt-get failed), saying
# why on stderr as WHO. For what a single test needs (it then skips or
# fails itself), where ensure_deps stops the whole script.
ensure_commands() {
    local who=$1 missing=() pair
    shift
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "$who: missing ${missing[*]}; install with:" \
            "sudo apt-get install -y ${missing[*]}" >&2
        return 77
    fi
    echo "$who: installing ${missing[*]} with apt-get" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            "${missing[@]}"; } >/dev/null 2>&1; then
        echo "$who: apt-get could not install ${missing[*]}" >&2
        return 77
    fi
}
