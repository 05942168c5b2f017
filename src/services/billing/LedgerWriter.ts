/**
 * The ledger's group commit. Reserves, renewals and settles are queued; a writer fiber takes
 * everything queued (up to `maxBatchSize`) and applies it as one statement, one transaction,
 * one commit, then hands each waiter its own row. While a batch is in flight the next one
 * forms by itself: an idle gateway sends each request alone and waits for nothing, a busy one
 * sends fewer, larger batches. Batching adds no delay.
 *
 * With several writers (the gateway runs one: see Billing.ts), requests are sharded by account,
 * so that an account's requests always go through one writer: two batches of one process never
 * wait on the same account's lock (across processes they do, briefly, in a fixed order that
 * cannot deadlock), while different accounts commit in parallel.
 *
 * A batch that fails fails only its own requests, and first tries to save them: a lost
 * connection or a deadlock sends the batch again once (every request is idempotent: a reserve
 * by its key, a settle by its hold, a renewal writes the same values), an error that one
 * request may have caused splits the batch in halves until it is isolated. A waiter that
 * leaves (interrupted, or past its bound) never loses money: a reserve it will not learn of is
 * cancelled, by its key, through the same queue.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { judge } from "./BatchFailure.ts"
import { whenTracing } from "../telemetry/Spans.ts"
import { type LedgerOutcome, type LedgerRequest, userOf } from "./BatchSql.ts"
import { type Linked, LinkedList } from "./LinkedList.ts"

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

interface Pending extends Linked<Pending> {
  readonly request: LedgerRequest
  readonly deferred: Deferred.Deferred<LedgerOutcome, LedgerUnavailable>
  /** When its waiter stops waiting (Infinity: nobody waits, as for a cancel). */
  readonly deadline: number
  /** The waiter's span: the batch's statement is traced under its first request's, linked to the others'. */
  readonly span: Tracer.AnySpan | undefined
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

export const makeLedgerWriter = (options: LedgerWriterOptions): Effect.Effect<LedgerWriter, never, Scope.Scope> =>
  Effect.gen(function* () {
    const queues = yield* Effect.forEach(Array.from({ length: options.writers }), () => Queue.unbounded<Pending>())
    /**
     * The requests whose waiters wait, in arrival order. Every waiter has the same bound, so the first is always
     * the first due: one timer bounds them all (a timer per waiter costs more than the rest of its wait). A request
     * leaves the list as soon as it is answered.
     */
    const waiting = new LinkedList<Pending>()
    const timeoutMs = Duration.toMillis(options.timeout)

    const enqueue = (request: LedgerRequest, deadline: number, span?: Tracer.AnySpan): Pending => {
      const pending: Pending = {
        request,
        deferred: Deferred.makeUnsafe(),
        deadline,
        span,
        delivered: undefined,
        previous: undefined,
        next: undefined,
        listed: false
      }
      if (deadline !== Infinity) waiting.append(pending)
      Queue.offerUnsafe(queues[shardOf(userOf(request), options.writers)]!, pending)
      return pending
    }

    /** Answers the request; false when it had been answered already (its waiter left, or timed out). */
    const complete = (pending: Pending, exit: Exit.Exit<LedgerOutcome, LedgerUnavailable>) => {
      waiting.remove(pending)
      return Deferred.doneUnsafe(pending.deferred, exit)
    }

    /** A hold made for a waiter that left before learning of it: nothing else knows it, so it is released. */
    const orphaned = (pending: Pending, outcome: LedgerOutcome) => {
      const { request } = pending
      if (request._tag === "Reserve" && outcome.status === "reserved") {
        enqueue({ _tag: "Cancel", key: request.key, userId: request.reservation.userId }, Infinity)
      }
    }

    const deliver = (pending: Pending, outcome: LedgerOutcome) => {
      pending.delivered = outcome
      if (!complete(pending, Exit.succeed(outcome))) orphaned(pending, outcome)
    }

    const fail = (pending: Pending, cause: Cause.Cause<unknown>, outcomeUnknown: boolean) =>
      Effect.gen(function* () {
        const { request } = pending
        const message = `The ledger did not apply a ${request._tag.toLowerCase()} of ${userOf(request)}`
        complete(pending, Exit.fail(new LedgerUnavailable({ message, cause: Cause.squash(cause) })))
        // The reserve may have committed: its hold is released by key (or, if that fails too, by the sweeper).
        if (outcomeUnknown && request._tag === "Reserve") {
          enqueue({ _tag: "Cancel", key: request.key, userId: request.reservation.userId }, Infinity)
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
          whenTracing(
            Effect.timeout(options.apply(batch.map((pending) => pending.request)), options.timeout),
            (batchStatement) => {
              const links: Array<Tracer.SpanLink> = []
              for (let i = 1; i < batch.length; i++) {
                const span = batch[i]!.span
                if (span !== undefined) links.push({ span, attributes: {} })
              }
              return Effect.withSpan(batchStatement, "LedgerWriter.batch", {
                parent: batch[0]!.span,
                links,
                attributes: { "billing.batch.requests": batch.length },
                captureStackTrace: false
              })
            }
          )
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

    /** Tells the waiters past their bound that the ledger did not answer, then sleeps until the next is due. */
    const reaper = Effect.gen(function* () {
      while (true) {
        const now = yield* Clock.currentTimeMillis
        let first = waiting.first
        while (first !== undefined && first.deadline <= now) {
          const message = `The ledger did not answer a ${first.request._tag.toLowerCase()} in time`
          complete(first, Exit.fail(new LedgerUnavailable({ message, cause: undefined })))
          first = waiting.first
        }
        // Nobody waiting: whoever comes next is due no sooner than a full bound from now.
        yield* Effect.sleep(first === undefined ? timeoutMs : first.deadline - now)
      }
    })

    // At shutdown (after the writers stop), whoever is still queued is told the ledger is gone.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(queues, (queue) =>
        Effect.flatMap(Queue.clear(queue), (left) =>
          Effect.forEach(left, (pending) => fail(pending, Cause.interrupt(), false), { discard: true })
        )
      )
    )
    yield* Effect.forEach(queues, (queue) => Effect.forkScoped(writer(queue)), { discard: true })
    yield* Effect.forkScoped(reaper)

    /** A waiter that leaves gives up its place; if its outcome has just arrived, that outcome is undone. */
    const leave = (pending: Pending) =>
      Effect.sync(() => {
        if (!complete(pending, Exit.interrupt()) && pending.delivered !== undefined)
          orphaned(pending, pending.delivered)
      })

    const submit = (request: LedgerRequest): Effect.Effect<LedgerOutcome, LedgerUnavailable> =>
      Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (span) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const pending = enqueue(request, now + timeoutMs, Option.getOrUndefined(span))
          return Effect.onInterrupt(Deferred.await(pending.deferred), () => leave(pending))
        })
      )

    return { submit }
  })
