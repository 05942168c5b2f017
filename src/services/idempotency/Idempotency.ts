/**
 * Idempotency keys, with Stripe's semantics: the first request with a key runs; a repeat with the same key, user
 * and request within the retention gets the stored answer and is neither sent upstream nor charged; a repeat
 * while the first is still running gets 409; the same key with another request gets 422. Keys are the user's own.
 * Only successful answers are kept: a request that fails gives its key back, so that retrying it runs it again
 * (nothing was delivered, and a failed request's charge, if any, is the policy's, not a replay's).
 *
 * A running key is leased, like a hold, for the hold TTL and renewed every third of it while its request runs:
 * a key whose process died is free again once the lease lapses. Rows are in PostgreSQL (migrations/0006), so
 * every replica sees them; the billing sweeper's interval deletes the expired ones.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as SqlClient from "effect/sql/SqlClient"
import { GatewayConfig } from "../../Config.ts"
import { IdempotencyConflict, IdempotencyMismatch, quoted, ServiceUnavailable } from "../../domain/errors.ts"
import * as Database from "../../storage/Database.ts"

/** What a repeat gets back. */
export interface StoredAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export interface KeyedRequest {
  readonly userId: string
  readonly key: string
  /** Identifies the request (its method, path and body): the same key with another fingerprint is refused. */
  readonly fingerprint: string
}

/** The key is this request's to run: keep it while it runs, then store its answer or give the key back. */
export interface Claimed {
  readonly _tag: "Claimed"
  /** Renews the lease in a fiber of the caller's scope until the scope closes. */
  readonly keepAlive: Effect.Effect<void, never, Scope.Scope>
  readonly store: (answer: StoredAnswer) => Effect.Effect<void>
  readonly release: Effect.Effect<void>
}

export interface Replay {
  readonly _tag: "Replay"
  readonly answer: StoredAnswer
}

/** Bounds every statement; the server's statement_timeout bounds it on the database side too. */
const statementTimeout = Duration.seconds(5)
/** Expired keys deleted per statement of a sweep. */
const sweepBatchSize = 1000

const unavailable = () =>
  new ServiceUnavailable({ message: "Idempotency keys are temporarily unavailable; try again shortly" })

export class Idempotency extends Context.Service<
  Idempotency,
  {
    readonly claim: (
      request: KeyedRequest
    ) => Effect.Effect<Claimed | Replay, IdempotencyConflict | IdempotencyMismatch | ServiceUnavailable>
    /** Deletes the keys whose lease or retention has passed; returns how many. */
    readonly sweep: Effect.Effect<number, ServiceUnavailable>
  }
>()("gateway/Idempotency") {
  static readonly layer = Layer.effect(
    Idempotency,
    Effect.gen(function* () {
      const { billing: config } = yield* GatewayConfig
      const sql = yield* SqlClient.SqlClient
      const leaseSeconds = Duration.toSeconds(config.holdTtl)
      const retentionSeconds = Duration.toSeconds(config.idempotencyRetention)

      const run = Database.boundedStatements("Idempotency", statementTimeout, unavailable)

      /** Writes that follow the answer: a failure is logged, and the lease lapsing frees the key. */
      const bestEffort = (operation: string, statement: Effect.Effect<unknown, unknown>) =>
        run(operation, statement).pipe(Effect.ignore)

      const owned = (request: KeyedRequest) =>
        sql`user_id = ${request.userId}::text AND key = ${request.key}::text AND fingerprint = ${request.fingerprint}::text`

      const claimed = (request: KeyedRequest): Claimed => ({
        _tag: "Claimed",
        keepAlive: bestEffort(
          "renewal",
          sql`UPDATE idempotency_keys SET expires_at = now() + ${leaseSeconds} * interval '1 second'
              WHERE ${owned(request)} AND state = 'running'`
        ).pipe(
          Effect.delay(Duration.seconds(leaseSeconds / 3)),
          Effect.repeat(Schedule.spaced(Duration.seconds(leaseSeconds / 3))),
          Effect.forkScoped,
          Effect.asVoid
        ),
        store: (answer) =>
          bestEffort(
            "store",
            sql`UPDATE idempotency_keys
                SET state = 'done', status = ${answer.status}::integer, headers = ${JSON.stringify(answer.headers)}::jsonb,
                    body = ${answer.body}::text, expires_at = now() + ${retentionSeconds} * interval '1 second'
                WHERE ${owned(request)} AND state = 'running'`
          ),
        release: bestEffort("release", sql`DELETE FROM idempotency_keys WHERE ${owned(request)} AND state = 'running'`)
      })

      const claim = Effect.fn("Idempotency.claim")(function* (request: KeyedRequest) {
        // One statement: take the key when it is free (new, or its lease or retention lapsed), else read it. The
        // outer SELECT sees the row as it was before the statement: it matters only when the key was not taken.
        const rows = yield* run(
          "claim",
          sql<{
            readonly claimed: boolean | null
            readonly fingerprint: string | null
            readonly state: "running" | "done" | null
            readonly status: number | null
            readonly headers: Record<string, string> | null
            readonly body: string | null
          }>`
            WITH taken AS (
              INSERT INTO idempotency_keys AS k (user_id, key, fingerprint, state, expires_at)
                VALUES (${request.userId}::text, ${request.key}::text, ${request.fingerprint}::text, 'running',
                        now() + ${leaseSeconds} * interval '1 second')
              ON CONFLICT (user_id, key) DO UPDATE
                SET fingerprint = excluded.fingerprint, state = 'running', status = NULL, headers = NULL, body = NULL,
                    created_at = now(), expires_at = excluded.expires_at
                WHERE k.expires_at <= now()
              RETURNING true AS claimed
            )
            SELECT (SELECT claimed FROM taken) AS claimed, k.fingerprint, k.state, k.status, k.headers, k.body
            FROM (SELECT 1) one
            LEFT JOIN idempotency_keys k ON k.user_id = ${request.userId}::text AND k.key = ${request.key}::text`
        )
        const row = rows[0]!
        if (row.claimed === true) return claimed(request)
        if (row.fingerprint !== request.fingerprint) {
          return yield* new IdempotencyMismatch({
            message:
              `The Idempotency-Key ${quoted(request.key)} was already used for a different request; ` +
              "send a new key for a new request",
            param: "Idempotency-Key"
          })
        }
        if (row.state === "running") {
          return yield* new IdempotencyConflict({
            message:
              `A request with the Idempotency-Key ${quoted(request.key)} is still running; ` +
              "retry once it has finished to get its answer",
            param: "Idempotency-Key"
          })
        }
        const replay: Replay = {
          _tag: "Replay",
          answer: { status: row.status!, headers: row.headers!, body: row.body! }
        }
        return replay
      })

      const sweepOnce = run(
        "sweep",
        sql<{ readonly n: number }>`
          WITH expired AS (
            DELETE FROM idempotency_keys WHERE (user_id, key) IN (
              SELECT user_id, key FROM idempotency_keys WHERE expires_at <= now() LIMIT ${sweepBatchSize}
            )
            RETURNING 1
          )
          SELECT count(*)::int AS n FROM expired`
      ).pipe(Effect.map((rows) => rows[0]!.n))

      /** Every expired key, a batch at a time. */
      const sweep = Effect.gen(function* () {
        let total = 0
        while (true) {
          const n = yield* sweepOnce
          total += n
          if (n < sweepBatchSize) return total
        }
      }).pipe(Effect.withSpan("Idempotency.sweep"))

      yield* sweep.pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.failCause(cause)
            : Effect.logWarning("Idempotency sweep failed", cause)
        ),
        Effect.repeat(Schedule.spaced(config.sweepInterval)),
        Effect.forkScoped
      )

      return Idempotency.of({ claim, sweep })
    })
  ).pipe(Layer.provide(Database.layer))
}
