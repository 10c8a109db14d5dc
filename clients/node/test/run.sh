#!/bin/sh
# run.sh - what ctest's client_node runs (tests/CMakeLists.txt), from
# clients/node: the client's node --test suites. Fails with one line
# saying what to do when node or the pinned ioredis is missing
# (scripts/test installs both).
cd "$(dirname "$0")/.." || exit 1
if ! command -v node >/dev/null 2>&1; then
    echo "client_node: node is not installed (apt-get install nodejs npm)" >&2
    exit 1
fi
if [ ! -d node_modules/ioredis ]; then
    echo "client_node: clients/node/node_modules/ioredis is missing: run" \
        "'npm ci --prefix clients/node' from the source tree" >&2
    exit 1
fi
exec node --test test/*.test.js
