/**
 * The ledger's group commit. Reserves, renewals and settles are queued; a writer fiber takes
 * everything queued (up to `maxBatchSize`) and applies it as one statement, one transaction,
 * one commit, then hands each waiter its own row. While a batch is in flight the next one
 * forms by itself: an idle gateway sends each request alone and waits for nothing, a busy one
 * sends fewer, larger batches. No timer is involved.
 *
 * Requests are sharded by account onto `writers` queues, one writer each: an account's
 * requests always go through one writer, so two batches of one process never wait on the same
 * account's lock (across processes they do, briefly, in a fixed order that cannot deadlock),
 * while different accounts commit in parallel.
 *
 * A batch that fails fails only its own requests, and first tries to save them: a lost
 * connection or a deadlock sends the batch again once (every request is idempotent: a reserve
 * by its key, a settle by its hold, a renewal writes the same values), an error that one
 * request may have caused splits the batch in halves until it is isolated. A waiter that
 * leaves (interrupted, or past its bound) never loses money: a reserve it will not learn of is
 * cancelled, by its key, through the same queue.
 */
import { Cause, Deferred, type Duration, Effect, Exit, Option, Queue, Schema, type Scope } from "effect"
import { SqlError } from "effect/sql"
import { type LedgerOutcome, type LedgerRequest, userOf } from "./BatchSql.ts"

/** The ledger could not answer a request: the database failed, or did not answer in time. */
export class LedgerUnavailable extends Schema.TaggedError<LedgerUnavailable>()("LedgerUnavailable", {
  message: Schema.String,
  cause: Schema.Defect()
}) {}

export interface LedgerWriterOptions {
  /** One statement for a batch: one outcome per request, in order. */
  readonly apply: (requests: ReadonlyArray<LedgerRequest>) => Effect.Effect<ReadonlyArray<LedgerOutcome>, unknown>
  readonly writers: number
  readonly maxBatchSize: number
  /** Bounds each batch's statement, and each waiter's wait. */
  readonly timeout: Duration.Duration
}

export interface LedgerWriter {
  readonly submit: (request: LedgerRequest) => Effect.Effect<LedgerOutcome, LedgerUnavailable>
}

interface Pending {
  readonly request: LedgerRequest
  readonly deferred: Deferred.Deferred<LedgerOutcome, LedgerUnavailable>
  /** The outcome handed over: kept for a waiter that leaves at the very moment it arrives. */
  delivered: LedgerOutcome | undefined
}

/** FNV-1a: a cheap, stable spread of accounts over the writers. */
const shardOf = (userId: string, shards: number): number => {
  if (shards === 1) return 0
  let hash = 0x811c9dc5
  for (let i = 0; i < userId.length; i++) hash = Math.imul(hash ^ userId.charCodeAt(i), 0x01000193)
  return (hash >>> 0) % shards
}

/** PostgreSQL's SQLSTATEs for a session the server ended (admin shutdown, crash shutdown, cannot connect now). */
const serverEndedSession = (error: SqlError.SqlError) => {
  const code = (error.reason.cause as { readonly code?: unknown } | undefined)?.code
  return typeof code === "string" && code.startsWith("57P")
}

type Verdict =
  /** Send the same requests again. */
  | "retry"
  /** Send each half on its own: one request may be the cause. */
  | "split"
  /** Fail every request of the batch. */
  | "fail"

/**
 * What to do with a batch that failed, and whether its commit may have happened. A lost
 * connection, or no answer in time, leaves the outcome unknown; an error the server reported
 * means the transaction rolled back.
 */
const judge = (
  cause: Cause.Cause<unknown>,
  size: number,
  retried: boolean
): { readonly verdict: Verdict; readonly outcomeUnknown: boolean } => {
  const error = Option.getOrUndefined(Cause.findErrorOption(cause))
  if (Cause.isTimeoutError(error)) return { verdict: "fail", outcomeUnknown: true }
  if (!SqlError.isSqlError(error)) return { verdict: size > 1 ? "split" : "fail", outcomeUnknown: false }
  const reason = error.reason._tag
  if (reason === "ConnectionError" || serverEndedSession(error)) {
    return { verdict: retried ? "fail" : "retry", outcomeUnknown: true }
  }
  // A statement that ran out of time would run out of time again.
  if (reason === "StatementTimeoutError") return { verdict: "fail", outcomeUnknown: false }
  if ((reason === "DeadlockError" || reason === "SerializationError" || reason === "LockTimeoutError") && !retried) {
    return { verdict: "retry", outcomeUnknown: false }
  }
  return { verdict: size > 1 ? "split" : "fail", outcomeUnknown: false }
}

export const makeLedgerWriter = (options: LedgerWriterOptions): Effect.Effect<LedgerWriter, never, Scope.Scope> =>
  Effect.gen(function* () {
    const queues = yield* Effect.forEach(Array.from({ length: options.writers }), () => Queue.unbounded<Pending>())

    const enqueue = (request: LedgerRequest): Pending => {
      const pending: Pending = { request, deferred: Deferred.makeUnsafe(), delivered: undefined }
      Queue.offerUnsafe(queues[shardOf(userOf(request), options.writers)]!, pending)
      return pending
    }

    /** A hold made for a waiter that left before learning of it: nothing else knows it, so it is released. */
    const orphaned = (pending: Pending, outcome: LedgerOutcome) => {
      const { request } = pending
      if (request._tag === "Reserve" && outcome.status === "reserved") {
        enqueue({ _tag: "Cancel", key: request.key, userId: request.reservation.userId })
      }
    }

    const deliver = (pending: Pending, outcome: LedgerOutcome) => {
      pending.delivered = outcome
      if (!Deferred.doneUnsafe(pending.deferred, Exit.succeed(outcome))) orphaned(pending, outcome)
    }

    const fail = (pending: Pending, cause: Cause.Cause<unknown>, outcomeUnknown: boolean) =>
      Effect.gen(function* () {
        const { request } = pending
        const message = `The ledger did not apply a ${request._tag.toLowerCase()} of ${userOf(request)}`
        Deferred.doneUnsafe(pending.deferred, Exit.fail(new LedgerUnavailable({ message, cause: Cause.squash(cause) })))
        // The reserve may have committed: its hold is released by key (or, if that fails too, by the sweeper).
        if (outcomeUnknown && request._tag === "Reserve") {
          enqueue({ _tag: "Cancel", key: request.key, userId: request.reservation.userId })
        }
        if (request._tag === "Cancel") {
          yield* Effect.logError(
            `Could not release the hold of reservation ${request.key} of ${request.userId}, whose request had ` +
              "given up on it: it stays held until it expires and the sweeper releases it",
            cause
          )
        }
      })

    /** One statement for the batch, and what follows from its result. Runs to its end (bounded by the timeout). */
    const attempt = (batch: ReadonlyArray<Pending>, retried: boolean): Effect.Effect<void> =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(
          options.apply(batch.map((pending) => pending.request)).pipe(Effect.timeout(options.timeout))
        )
        if (Exit.isSuccess(exit)) {
          for (let i = 0; i < batch.length; i++) deliver(batch[i]!, exit.value[i]!)
          return
        }
        const { verdict, outcomeUnknown } = judge(exit.cause, batch.length, retried)
        yield* Effect.logWarning(`A ledger batch of ${batch.length} requests failed (${verdict})`, exit.cause)
        if (verdict === "retry") return yield* attempt(batch, true)
        if (verdict === "split") {
          const half = Math.ceil(batch.length / 2)
          yield* attempt(batch.slice(0, half), retried)
          return yield* attempt(batch.slice(half), retried)
        }
        yield* Effect.forEach(batch, (pending) => fail(pending, exit.cause, outcomeUnknown), { discard: true })
      })

    const writer = (queue: Queue.Queue<Pending>) =>
      Effect.forever(
        Effect.gen(function* () {
          const taken = yield* Queue.takeBetween(queue, 1, options.maxBatchSize)
          // Waiters that left before their request was sent: nothing was done for them, nothing to undo.
          const batch = taken.filter((pending) => !Deferred.isDoneUnsafe(pending.deferred))
          if (batch.length > 0) yield* Effect.uninterruptible(attempt(batch, false))
        })
      )

    // At shutdown (after the writers stop), whoever is still queued is told the ledger is gone.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(queues, (queue) =>
        Effect.flatMap(Queue.clear(queue), (left) =>
          Effect.forEach(left, (pending) => fail(pending, Cause.interrupt(), false), { discard: true })
        )
      )
    )
    yield* Effect.forEach(queues, (queue) => Effect.forkScoped(writer(queue)), { discard: true })

    /** A waiter that leaves gives up its place; if its outcome has just arrived, that outcome is undone. */
    const leave = (pending: Pending) =>
      Effect.sync(() => {
        if (!Deferred.doneUnsafe(pending.deferred, Exit.interrupt()) && pending.delivered !== undefined) {
          orphaned(pending, pending.delivered)
        }
      })

    const submit = (request: LedgerRequest): Effect.Effect<LedgerOutcome, LedgerUnavailable> =>
      Effect.suspend(() => {
        const pending = enqueue(request)
        return Deferred.await(pending.deferred).pipe(
          Effect.timeoutOrElse({
            duration: options.timeout,
            // Past its bound the waiter leaves with an error, unless its outcome arrived at that very moment.
            orElse: () => {
              const message = `The ledger did not answer a ${request._tag.toLowerCase()} in time`
              Deferred.doneUnsafe(pending.deferred, Exit.fail(new LedgerUnavailable({ message, cause: undefined })))
              return Deferred.await(pending.deferred)
            }
          }),
          Effect.onInterrupt(() => leave(pending))
        )
      })

    return { submit }
  })
