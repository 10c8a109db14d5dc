// index.d.ts - TypeScript declarations of jobrt-client (see README.md).
import type { Redis, Cluster, RedisOptions } from 'ioredis';

export interface ClientOptions {
  /** A URL (redis://, rediss://, unix:///path.sock[?db=N]; default
   * redis://127.0.0.1:6379), or an ioredis client of yours, which close()
   * leaves open. */
  redis?: string | Redis | Cluster;
  /** Key namespace, as `jobrt --namespace` (default "jobrt"). */
  namespace?: string;
  /** Passed to `new Redis()` when the client opens the connection. */
  redisOptions?: RedisOptions;
}

/** A point in time: a Date or ms since the Unix epoch. */
export type Time = Date | number;

export interface EnqueueOptions {
  /** Job id, 1-128 printable ASCII characters, no spaces. Default: the
   * stream entry id, or with delay/at/key a generated `<ms>-<hex>` id. */
  id?: string | null;
  correlationId?: string | null;
  /** 1-1000: lowers the handler's own maximum. */
  maxAttempts?: number | null;
  /** This job's deadline, ms (1 to 86 400 000): wire field timeout_ms. */
  timeout?: number | null;
  /** Run no sooner than this many ms from now (0 to 366 days). */
  delay?: number | null;
  /** Run no sooner than this time. Not with delay. */
  at?: Time | null;
  /** Dead-letter as expired if not started within this many ms. */
  expiresIn?: number | null;
  /** Dead-letter as expired if not started by then. Not with expiresIn. */
  expiresAt?: Time | null;
  /** Idempotency key: within dedupeWindow a second enqueue with it
   * enqueues nothing and returns the first job's id (created: false). */
  key?: string | null;
  /** How long key is remembered, ms (default 24 h); only with key. */
  dedupeWindow?: number | null;
  /** The payload as JSON text, sent as is (give undefined as payload). */
  payloadJson?: string | null;
}

/** One job of enqueueMany(): the keys of an NDJSON line of `jobrt
 * enqueue` (docs/protocol.md), with this client's value types (ms
 * numbers, Date or epoch ms). null is the same as leaving a key out,
 * except for payload. */
export interface JobSpec {
  job: string;
  v: number;
  payload?: unknown;
  payload_json?: string | null;
  id?: string | null;
  correlation_id?: string | null;
  max_attempts?: number | null;
  timeout?: number | null;
  timeout_ms?: number | null;
  delay?: number | null;
  at?: Time | null;
  not_before?: Time | null;
  expires_in?: number | null;
  expires_at?: Time | null;
  key?: string | null;
  idempotency_key?: string | null;
  dedupe_window?: number | null;
  enqueued_at?: Time | null;
}

export interface EnqueueResult {
  id: string;
  /** false: a duplicate of a job enqueued with the same key. */
  created: boolean;
}

/** The outcome record of a finished job (docs/protocol.md, "Outcome
 * records"). */
export interface OutcomeRecord {
  id: string;
  queue: string;
  job: string;
  v: number;
  status: 'succeeded' | 'dead' | 'cancelled' | string;
  attempts: number;
  deliveries: number;
  reason: string | null;
  result: unknown;
  error: string | null;
  [member: string]: unknown;
}

export interface DeadLetter {
  entryId: string;
  /** The id field, or dlq_source_id when the entry has none. */
  jobId: string | null;
  job: string | null;
  v: number | null;
  reason: string | null;
  error: string | null;
  worker: string | null;
  /** dlq_at: ms since the Unix epoch. */
  at: number | null;
  /** Every field of the entry. */
  fields: Record<string, string>;
}

export interface DlqListOptions {
  reason?: string | null;
  job?: string | null;
  /** At most this many (default 100, up to 10 000). */
  count?: number | null;
}

export class Client {
  constructor(options?: ClientOptions | string);
  readonly namespace: string;
  readonly redis: Redis | Cluster;
  close(): Promise<void>;
  enqueue(queue: string, job: string, version: number, payload: unknown,
    options?: EnqueueOptions): Promise<EnqueueResult>;
  enqueueMany(queue: string, jobs: JobSpec[]): Promise<EnqueueResult[]>;
  status(queue: string, id: string): Promise<OutcomeRecord | null>;
  /** Rejects with an Error named 'TimeoutError' after timeout ms
   * (default 30 000). */
  wait(queue: string, id: string, timeout?: number): Promise<OutcomeRecord>;
  dlqList(queue: string, options?: DlqListOptions): Promise<DeadLetter[]>;
  dlqRetry(queue: string, entryIds: string[]):
    Promise<{ moved: number; kept: string[] }>;
}
