# scripts/lib/node_client.sh - sourced by scripts/test: makes sure the Node
# producer client's tests (ctest client_node, clients/node/test) can run:
# Debian's nodejs and npm (apt-get, as root, when missing) and ioredis from
# npm in clients/node/node_modules (`npm ci`, pinned by
# clients/node/package-lock.json). Needs scripts/lib/deps.sh sourced.

# ensure_node_client [SOURCE_DIR]: returns 0 when ready, 77 when node or
# npm is missing and cannot be installed (not root, or apt-get failed), 1
# when npm ci fails. Says why on stderr; client_node then fails saying
# what is missing.
ensure_node_client() {
    local src=${1:-.}
    ensure_commands "node client" node:nodejs npm:npm || return $?
    if [ ! -d "$src/clients/node/node_modules/ioredis" ]; then
        echo "node client: npm ci --prefix clients/node (ioredis)" >&2
        if ! npm ci --prefix "$src/clients/node" --no-audit --no-fund >&2; then
            echo "node client: npm ci in $src/clients/node failed" >&2
            return 1
        fi
    fi
    return 0
}
