#!/usr/bin/env bash
# produce.sh - enqueue a few invoice_email jobs (payload schema 1 and 2) on a
# jobrt queue with redis-cli, to try the invoice-email example plugins.
set -euo pipefail

usage() {
    cat <<USAGE
usage: $(basename "$0") [--help]

Enqueues three schema-1 and two schema-2 "invoice_email" jobs with redis-cli.

environment:
  REDIS_URL   Redis to use            (default redis://127.0.0.1:6379)
  QUEUE       queue name              (default emails)
  NAMESPACE   key namespace           (default jobrt)
The stream key is "\$NAMESPACE:{\$QUEUE}:stream".
USAGE
}

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") ;;
    *) usage >&2; exit 2 ;;
esac

REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
QUEUE="${QUEUE:-emails}"
NAMESPACE="${NAMESPACE:-jobrt}"
KEY="${NAMESPACE}:{${QUEUE}}:stream"

# xadd VERSION PAYLOAD [FIELD VALUE]... : one job; prints the stream entry id.
xadd() {
    local v="$1" payload="$2"
    shift 2
    redis-cli -u "$REDIS_URL" XADD "$KEY" '*' \
        job invoice_email v "$v" payload "$payload" "$@"
}

# Schema 1: served by both invoice-email 1.0.0 and 2.0.0.
xadd 1 '{"invoice_id":"INV-1","to":"a@b.c","amount_cents":1250}'
xadd 1 '{"invoice_id":"INV-2","to":"billing@example.com","amount_cents":99}' \
    correlation_id order-4711
xadd 1 '{"invoice_id":"INV-3","to":"c@d.e","amount_cents":100000}' \
    id "invoice-email-INV-3"

# Schema 2: only invoice-email 2.0.0 serves it.
xadd 2 '{"invoice":{"id":"INV-4","total":{"amount_cents":990,"currency":"EUR"}},"recipients":["x@y.z"]}'
xadd 2 '{"invoice":{"id":"INV-5","total":{"amount_cents":123456,"currency":"USD"}},"recipients":["ap@example.com","cfo@example.com"]}' \
    correlation_id order-4712

echo "enqueued 5 jobs on $KEY" >&2
