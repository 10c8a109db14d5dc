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
  /** The largest payload sent, in bytes of UTF-8 JSON (default 1 MiB, the
   * worker's --max-payload default; 0: no limit; at most 512 MiB): a
   * larger one is refused (RangeError) instead of being dead-lettered as
   * payload_too_large. Set it to your workers' --max-payload. */
  maxPayload?: number;
}

/** A point in time: a Date or ms since the Unix epoch (no strings). */
export type Time = Date | number;

/** Options of enqueue(), and keys of a job of enqueueMany(). Durations
 * are ms numbers, never strings ("30s" is refused). The snake_case keys
 * of an NDJSON line (max_attempts, expires_in, ...) are refused naming
 * the option to use. */
export interface EnqueueOptions {
  /** Job id, 1-128 printable ASCII characters, no spaces. Default: the
   * stream entry id, or with delay/at/key a generated `<ms>-<hex>` id. */
  id?: string | null;
  correlationId?: string | null;
  /** 1-1000: lowers the handler's own maximum. */
  maxAttempts?: number | null;
  /** This job's deadline, ms (1 to 86 400 000): wire field timeout_ms. */
  timeout?: number | null;
  /** Run no sooner than this many ms from now (0 to 366 days). ms, where
   * an NDJSON line's number is seconds. */
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

/** One job of enqueueMany(): job, v (the version) and payload (or
 * payloadJson), and the options of enqueue() under the same names, with
 * the same values. null is the same as leaving a key out, except for
 * payload. */
export interface JobSpec extends EnqueueOptions {
  job: string;
  v: number;
  payload?: unknown;
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
