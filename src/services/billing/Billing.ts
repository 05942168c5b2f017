/**
 * Prepaid balances. A chat request reserves its worst-case cost before any upstream call
 * (`reserve`), and settles exactly once when it is over (`settle`): the actual cost is
 * charged, the rest of the hold released. Both are one database round trip; the rules that
 * keep the money exact live in the SQL functions they call (migrations/0001_billing.sql).
 * Holds left by a crashed process expire and are released by a sweeper in the background.
 */
import { Clock, Context, Duration, Effect, Layer, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { GatewayConfig } from "../../Config.ts"
import type { Balance, Transaction, TransactionList } from "../../domain/Billing.ts"
import type { CatalogModel } from "../../domain/Catalog.ts"
import { InsufficientBalance, ServiceUnavailable, ValidationError } from "../../domain/errors.ts"
import * as Money from "../../domain/Money.ts"
import { BalanceObserver } from "./BalanceObserver.ts"
import { type LedgerRow, makeBillingSql } from "./BillingSql.ts"
import { sweepExpiredHolds } from "./HoldSweeper.ts"
import { costOfUsage, minimumCost, type Outcome, type Reservation } from "./Metering.ts"

/** A reservation in force: what the request may spend, and the completion budget it pays for. */
export interface Hold {
  readonly id: bigint
  readonly userId: string
  readonly requestId: string
  readonly model: CatalogModel
  readonly amount: Money.Nanos
  /** The completion budget the hold pays for: what is sent upstream. */
  readonly maxTokens: number
}

/** The account after a settle: what was charged (0 when the hold was only released). */
export interface Settlement {
  readonly charged: Money.Nanos
  readonly balance: Money.Nanos
  readonly available: Money.Nanos
}

/** Bounds every billing statement; the server's statement_timeout bounds it on the database side too. */
const statementTimeout = Duration.seconds(5)
/** Expired holds released per statement; a sweep repeats up to `sweepBatches` statements. */
const sweepBatchSize = 500
const sweepBatches = 20

const unavailable = new ServiceUnavailable({ message: "Billing is temporarily unavailable; try again shortly" })

const usd = (amount: Money.Nanos) => `$${Money.format(amount)}`

const toTransaction = (userId: string, row: LedgerRow): Transaction => ({
  id: `txn_${row.id}`,
  user_id: userId,
  amount: Money.toNumber(row.amount),
  description: row.description,
  timestamp: row.createdAt.toISOString(),
  balance_after: Money.toNumber(row.balanceAfter),
  ...(row.kind === "charge"
    ? {
        request_id: row.requestId,
        model: row.model,
        prompt_tokens: row.promptTokens,
        completion_tokens: row.completionTokens,
        usage_source: row.usageSource
      }
    : {})
})

export class Billing extends Context.Service<
  Billing,
  {
    /** Holds the worst-case cost of a request; fails with 402 when not even its prompt and one token are affordable. */
    readonly reserve: (reservation: Reservation) => Effect.Effect<Hold, InsufficientBalance | ServiceUnavailable>
    /**
     * Charges the outcome (never more than the hold) and releases the rest. Never fails: a
     * database that stays unreachable is logged, and the hold expires. Idempotent.
     */
    readonly settle: (hold: Hold, outcome: Outcome) => Effect.Effect<Settlement | undefined>
    readonly balance: (userId: string) => Effect.Effect<Balance, ServiceUnavailable>
    readonly transactions: (
      userId: string,
      page: { readonly limit: number; readonly offset: number }
    ) => Effect.Effect<TransactionList, ServiceUnavailable>
    /** A credit (positive) or adjustment (negative); refused when it would take the available balance below zero. */
    readonly credit: (input: {
      readonly userId: string
      readonly amount: Money.Nanos
      readonly description: string
      readonly actor: string
    }) => Effect.Effect<Balance, ValidationError | ServiceUnavailable>
    /** Releases the holds that expired (the sweeper runs this periodically); returns how many. */
    readonly releaseExpired: Effect.Effect<number, ServiceUnavailable>
  }
>()("gateway/Billing") {
  static readonly layer = Layer.effect(
    Billing,
    Effect.gen(function* () {
      const { billing: config } = yield* GatewayConfig
      const sql = yield* SqlClient.SqlClient
      const observer = yield* BalanceObserver
      const db = makeBillingSql(sql, config.initialBalance)

      /** One bounded statement; a database that fails or does not answer makes billing unavailable (503). */
      const run = <A, E>(operation: string, statement: Effect.Effect<A, E>) =>
        statement.pipe(
          Effect.interruptible,
          Effect.timeout(statementTimeout),
          Effect.tapCause((cause) => Effect.logWarning(`Billing ${operation} failed`, cause)),
          Effect.mapError(() => unavailable)
        )

      const reserve = Effect.fn("Billing.reserve")(
        function* (reservation: Reservation) {
          const expiresAt = new Date((yield* Clock.currentTimeMillis) + config.holdTtlMs)
          const result = yield* run("reserve", db.reserve(reservation, expiresAt))
          if (result.hold === undefined) {
            return yield* new InsufficientBalance({
              message:
                `Insufficient balance: ${usd(result.available)} available, and this request needs at least ` +
                `${usd(minimumCost(reservation))} (a prompt of up to ${reservation.promptTokens} tokens and one ` +
                `completion token${reservation.choices > 1 ? " per choice" : ""} with ${reservation.model.id})`
            })
          }
          const hold: Hold = {
            id: result.hold.id,
            userId: reservation.userId,
            requestId: reservation.requestId,
            model: reservation.model,
            amount: result.hold.amount,
            maxTokens: result.hold.maxTokens
          }
          return hold
        },
        // Once the statement is sent, a client that leaves must not orphan the hold it creates.
        Effect.uninterruptible
      )

      const settle = Effect.fn("Billing.settle")(function* (hold: Hold, outcome: Outcome) {
        const charge =
          outcome._tag === "Release"
            ? undefined
            : {
                cost: costOfUsage(outcome.model, outcome),
                description: `Chat completion with ${outcome.model.id}`,
                requestId: hold.requestId,
                model: outcome.model.id,
                promptTokens: outcome.promptTokens,
                completionTokens: outcome.completionTokens,
                source: outcome.source
              }
        if (charge !== undefined && charge.cost > hold.amount) {
          yield* Effect.logWarning(
            `Usage of request ${hold.requestId} costs ${usd(charge.cost)}, more than its hold of ${usd(hold.amount)}: ` +
              "the charge is capped at the hold"
          )
        }
        const settled = yield* run(
          "settle",
          db.settle({ holdId: hold.id, userId: hold.userId, holdAmount: hold.amount, charge })
        ).pipe(
          // Settling is idempotent, so a statement whose answer was lost can safely run again.
          Effect.retry({ times: 3, schedule: Schedule.exponential("100 millis") }),
          Effect.catch(() =>
            Effect.as(
              Effect.logError(
                `Could not settle hold ${hold.id} of ${hold.userId} (request ${hold.requestId}); ` +
                  `it will expire and be released. Unbilled: ${charge === undefined ? "nothing" : usd(charge.cost)}`
              ),
              undefined
            )
          )
        )
        if (settled === undefined) return undefined
        if (settled.charged !== undefined) yield* observer.balanceChanged(hold.userId, settled.balance)
        const settlement: Settlement = {
          charged: settled.charged ?? 0n,
          balance: settled.balance,
          available: settled.available
        }
        return settlement
      }, Effect.uninterruptible)

      const balance = Effect.fn("Billing.balance")(function* (userId: string) {
        const account = yield* run("balance", db.account(userId))
        const body: Balance = {
          user_id: userId,
          balance: Money.toNumber(account.balance),
          available: Money.toNumber(account.available)
        }
        return body
      })

      const transactions = Effect.fn("Billing.transactions")(function* (
        userId: string,
        { limit, offset }: { readonly limit: number; readonly offset: number }
      ) {
        let page = yield* run("transactions", db.page(userId, limit, offset))
        if (page === undefined) {
          yield* run("transactions", db.account(userId))
          page = yield* run("transactions", db.page(userId, limit, offset))
        }
        if (page === undefined) return yield* Effect.die(new Error(`The account of ${userId} vanished`))
        const list: TransactionList = {
          user_id: userId,
          transactions: page.rows.map((row) => toTransaction(userId, row)),
          limit,
          offset,
          total: page.total
        }
        return list
      })

      const credit = Effect.fn("Billing.credit")(function* (input: {
        readonly userId: string
        readonly amount: Money.Nanos
        readonly description: string
        readonly actor: string
      }) {
        const result = yield* run("credit", db.credit(input))
        if (!result.applied) {
          return yield* new ValidationError({
            message:
              `An adjustment of ${usd(input.amount)} would take the balance of ${input.userId} below zero ` +
              `(available: ${usd(result.available)})`,
            param: "amount"
          })
        }
        yield* observer.balanceChanged(input.userId, result.balance)
        const body: Balance = {
          user_id: input.userId,
          balance: Money.toNumber(result.balance),
          available: Money.toNumber(result.available)
        }
        return body
      })

      const releaseExpired = Effect.gen(function* () {
        const now = new Date(yield* Clock.currentTimeMillis)
        let released = 0
        for (let batch = 0; batch < sweepBatches; batch++) {
          const count = yield* run("release of expired holds", db.releaseExpired(now, sweepBatchSize))
          released += count
          if (count < sweepBatchSize) break
        }
        return released
      }).pipe(Effect.withSpan("Billing.releaseExpired"))

      yield* Effect.forkScoped(sweepExpiredHolds(releaseExpired, config.sweepIntervalMs))

      return Billing.of({ reserve, settle, balance, transactions, credit, releaseExpired })
    })
  )
}
