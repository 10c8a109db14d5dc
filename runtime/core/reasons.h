/*
 * reasons.h - the dead-letter reason codes (docs/protocol.md), one list for
 * what decides them (exec/outcome.c, the queue's scripts) and what counts
 * them (observe/metrics.c).
 */
#ifndef JOBRT_REASONS_H
#define JOBRT_REASONS_H

#define REASON_NO_HANDLER "no_handler"
#define REASON_SCHEMA_UNSUPPORTED "schema_unsupported"
#define REASON_INVALID_ENVELOPE "invalid_envelope"
#define REASON_RETRIES_EXHAUSTED "retries_exhausted"
#define REASON_PERMANENT_FAILURE "permanent_failure"
#define REASON_PAYLOAD_TOO_LARGE "payload_too_large"
#define REASON_ENTRY_TOO_LARGE "entry_too_large"
#define REASON_TOO_MANY_FIELDS "too_many_fields"
#define REASON_TIMEOUT "timeout"
#define REASON_EXPIRED "expired"
#define REASON_CANCELLED "cancelled"
#define REASON_POISON "poison"
/* parked because `jobrt disable` holds its job (dead-lettered so only when
 * the queue's parked pairs are at their limit) */
#define REASON_DISABLED "disabled"

#endif
