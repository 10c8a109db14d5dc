# scripts/lib/browser.sh - sourced by scripts/test and by the dashboard's
# browser test (tests/e2e/dashboard.sh): makes sure what that test drives
# is there: Debian's chromium and nodejs (apt-get, as root, when missing)
# and playwright-core from npm in tests/browser/node_modules (`npm ci`,
# pinned by tests/browser/package-lock.json; it downloads no browser).
. "$(dirname "${BASH_SOURCE[0]}")/deps.sh" # ensure_commands

# ensure_browser [SOURCE_DIR]: returns 0 when ready, 77 when chromium or
# node is missing and cannot be installed (not root, or apt-get failed),
# 1 when npm ci fails. Says why on stderr.
ensure_browser() {
    local src=${1:-.}
    ensure_commands "browser test" chromium:chromium node:nodejs npm:npm ||
        return $?
    if [ ! -d "$src/tests/browser/node_modules/playwright-core" ]; then
        echo "browser test: npm ci --prefix tests/browser (playwright-core)" >&2
        if ! PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix \
            "$src/tests/browser" --no-audit --no-fund >&2; then
            echo "browser test: npm ci in $src/tests/browser failed" >&2
            return 1
        fi
    fi
    return 0
}
