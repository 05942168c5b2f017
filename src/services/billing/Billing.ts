/**
 * Prepaid balances. A chat request reserves its worst-case cost before any upstream call
 * (`reserve`), keeps that hold alive while it runs (`keepAlive`: a renewal every third of the
 * hold TTL, writing on the hold what the request has metered so far), and settles exactly once
 * when it is over (`settle`): the actual cost is charged, the rest of the hold released. The
 * hot path is two round trips (reserve and settle), each shared with the requests that arrive
 * while the previous batch is in flight (LedgerWriter.ts: one statement and one commit per
 * batch); the rules that keep the money exact live in the SQL function they call (migrations/).
 * Holds whose owner stopped renewing them (a crashed or frozen process) expire; the sweeper
 * charges what they had metered and releases the rest.
 */
import { randomUUID } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as SqlClient from "effect/sql/SqlClient"
import { GatewayConfig, holdRenewal } from "../../Config.ts"
import {
  type AccountList,
  type AccountSort,
  type Balance,
  type TransactionList,
  type Usage,
  usd as usdJson
} from "../../domain/Billing.ts"
import type { CatalogModel } from "../../domain/Catalog.ts"
import { InsufficientBalance, NotFound, ServiceUnavailable, ValidationError } from "../../domain/errors.ts"
import * as Money from "../../domain/Money.ts"
import * as Database from "../../storage/Database.ts"
import { type LedgerRequest, makeBatchSql, renewed, reserveResult, settleResult } from "./BatchSql.ts"
import { BillingEvents } from "./BillingEvents.ts"
import { type LedgerCharge, type LedgerFilter, makeBillingSql, type SettleStatus } from "./BillingSql.ts"
import { sweepExpiredHolds, sweepOnce } from "./HoldSweeper.ts"
import { ledgerCharge, toTransaction } from "./Ledger.ts"
import { makeLedgerWriter } from "./LedgerWriter.ts"
import { minimumCost, type Outcome, type Reservation } from "./Metering.ts"
import { settleInBackground } from "./SettleRetry.ts"
import { summarizeUsage, type UsageQuery } from "./Usage.ts"
import { makeHoldRenewal } from "./HoldRenewal.ts"
import { traced } from "../telemetry/Spans.ts"

/** A reservation in force: what the request may spend, and the completion budget it pays for. */
export interface Hold {
  readonly id: bigint
  /**
   * The reservation key the gateway generated for it, which renewals and settles address it by: unlike its id,
   * never handed out twice, even by a database that crashed (migrations/0004).
   */
  readonly key: string
  readonly userId: string
  readonly requestId: string
  readonly model: CatalogModel
  readonly amount: Money.Nanos
  /** The completion budget the hold pays for: what is sent upstream. */
  readonly maxTokens: number
}

/** What a settle did, and the account after it. */
export interface Settlement {
  /**
   * `charged`: this settle wrote the hold's charge; `released`: there was nothing to charge;
   * `already_settled`: an earlier settle (or the sweeper) had settled the hold, and this one wrote nothing.
   */
  readonly status: SettleStatus
  /** The hold's charge in the ledger (whoever wrote it); 0 when released. */
  readonly charged: Money.Nanos
  /** What the usage cost beyond what the account had available. */
  readonly uncollected: Money.Nanos
  readonly balance: Money.Nanos
  readonly available: Money.Nanos
}

/**
 * Bounds every billing statement; the server's statement_timeout bounds it on the database side too.
 * Renewals use the same bound, which start-up checks against the hold TTL (`holdRenewal`).
 */
const statementTimeout = Duration.millis(holdRenewal.statementTimeoutMs)
/** Expired holds swept per statement. */
const sweepBatchSize = 500
/**
 * Requests per ledger batch: a batch of this size is one statement of a few milliseconds, far
 * inside the statement timeout, and one commit.
 */
const ledgerBatchSize = 256
/**
 * One ledger writer per process: one batch in flight, so every request queued meanwhile shares
 * the next commit. Measured with bench/ledger.ts (50 accounts, 16 to 128 clients), two or four
 * writers made smaller batches and more commits for the same requests, and were no faster, often
 * slower; processes (WEB_CONCURRENCY, several gateways) each add their own writer.
 */
const ledgerWriters = 1
/** Settle attempts before the answer, after the first: a database blip costs the client well under a second. */
const settleRetriesBeforeAnswer = 2

/** A new error each time: Sentry's reporter remembers the errors it has seen and would report a shared one once. */
const unavailable = () => new ServiceUnavailable({ message: "Billing is temporarily unavailable; try again shortly" })

export const usdText = (amount: Money.Nanos) => `$${Money.format(amount)}`

/** What the least a request may cost pays for: its prompt, and one completion token per choice when output is priced. */
const neededFor = (reservation: Reservation) =>
  `a prompt of up to ${reservation.promptTokens} tokens` +
  (reservation.outputPricePerMillion === 0n
    ? ""
    : ` and one completion token${reservation.choices > 1 ? " per choice" : ""}`)

export type AccountLookup = "open" | "existing"

const noAccount = (userId: string) => new NotFound({ message: `No account for user ${JSON.stringify(userId)}` })

export class Billing extends Context.Service<
  Billing,
  {
    /** Holds the worst-case cost of a request; fails with 402 when not even its prompt and one token are affordable. */
    readonly reserve: (reservation: Reservation) => Effect.Effect<Hold, InsufficientBalance | ServiceUnavailable>
    /**
     * Extends a hold by the TTL and writes on it what its request has metered so far (one bounded
     * statement). False when the hold is gone (settled, or taken by the sweeper).
     */
    readonly renew: (hold: Hold, metered: Outcome) => Effect.Effect<boolean, ServiceUnavailable>
    /**
     * Renews the hold every third of the TTL, with what `metered` says the request has metered by then, until
     * the caller's scope closes (the layer's one renewal fiber renews every live hold; never delays the request).
     */
    readonly keepAlive: (hold: Hold, metered: () => Outcome) => Effect.Effect<void, never, Scope.Scope>
    /**
     * Charges the outcome (its true cost, up to what the account has available; the rest is recorded
     * as uncollected) and releases the hold. Never fails and is idempotent: a settle that fails is
     * retried, first before the answer, then in the background (undefined: not settled yet).
     */
    readonly settle: (hold: Hold, outcome: Outcome) => Effect.Effect<Settlement | undefined>
    /**
     * A user's balance. `open` (a user reading their own account) opens the account with the initial balance on
     * first use; `existing` (an admin reading someone else's) never opens one, and fails with 404 when there is none.
     */
    readonly balance: (userId: string, lookup?: AccountLookup) => Effect.Effect<Balance, NotFound | ServiceUnavailable>
    readonly transactions: (
      userId: string,
      page: { readonly limit: number; readonly offset: number } & LedgerFilter,
      lookup?: AccountLookup
    ) => Effect.Effect<TransactionList, NotFound | ServiceUnavailable>
    /** The charges of a period, summed per UTC day and/or model, with the period's totals. */
    readonly usage: (query: UsageQuery) => Effect.Effect<Usage, ServiceUnavailable>
    /** A page of accounts, for operators. */
    readonly accounts: (query: {
      readonly search: string
      readonly sort: AccountSort
      readonly descending: boolean
      readonly limit: number
      readonly offset: number
    }) => Effect.Effect<AccountList, ServiceUnavailable>
    /** A credit (positive) or adjustment (negative); refused when it would take the available balance below zero. */
    readonly credit: (input: {
      readonly userId: string
      readonly amount: Money.Nanos
      readonly description: string
      readonly actor: string
    }) => Effect.Effect<Balance, ValidationError | ServiceUnavailable>
    /** Sweeps the holds that expired (the sweeper runs this periodically); returns how many. */
    readonly releaseExpired: Effect.Effect<number, ServiceUnavailable>
  }
>()("gateway/Billing") {
  static readonly layer = Layer.effect(
    Billing,
    Effect.gen(function* () {
      const { billing: config } = yield* GatewayConfig
      const sql = yield* SqlClient.SqlClient
      const events = yield* BillingEvents
      const layerScope = yield* Effect.scope
      const db = makeBillingSql(sql, config.initialBalance)
      const ledger = yield* makeLedgerWriter({
        apply: makeBatchSql(sql, config.initialBalance).apply,
        writers: ledgerWriters,
        maxBatchSize: ledgerBatchSize,
        timeout: statementTimeout
      })
      const renewalTimes = {
        every: Duration.millis(Math.floor(Duration.toMillis(config.holdTtl) / holdRenewal.perTtl)),
        retryDelay: Duration.millis(holdRenewal.retryDelayMs)
      }

      const run = Database.boundedStatements("Billing", statementTimeout, unavailable)

      const expiryFromNow = Effect.map(
        Clock.currentTimeMillis,
        (now) => new Date(now + Duration.toMillis(config.holdTtl))
      )

      /** One request through the ledger's batches; a database that fails or does not answer makes billing unavailable (503). */
      const submit = (operation: string, request: LedgerRequest) =>
        ledger.submit(request).pipe(
          Effect.tapError((error) => Effect.logWarning(`Billing ${operation} failed`, error)),
          Effect.mapError(unavailable)
        )

      /**
       * The wait for the ledger is as interruptible as the caller is (a waiter that leaves has its hold
       * cancelled, never orphaned); once the hold is made, nothing between the ledger and the caller can drop it.
       */
      const reserve = Effect.fnUntraced(function* (reservation: Reservation) {
        return yield* Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            const expiresAt = yield* expiryFromNow
            // The key makes the reserve idempotent: sent again after a lost answer, it finds the hold it made.
            const key = randomUUID()
            const request: LedgerRequest = { _tag: "Reserve", key, reservation, expiresAt }
            const result = reserveResult(yield* restore(submit("reserve", request)))
            if (result.hold === undefined) {
              return yield* new InsufficientBalance({
                message:
                  `Insufficient balance: ${usdText(result.available)} available, and this request needs at least ` +
                  `${usdText(minimumCost(reservation))} (${neededFor(reservation)} with ${reservation.model.id})`
              })
            }
            const hold: Hold = {
              id: result.hold.id,
              key,
              userId: reservation.userId,
              requestId: reservation.requestId,
              model: reservation.model,
              amount: result.hold.amount,
              maxTokens: result.hold.maxTokens
            }
            return hold
          })
        )
      }, traced("Billing.reserve"))

      const renewWith = (hold: Hold, charge: LedgerCharge | undefined) =>
        Effect.flatMap(expiryFromNow, (expiresAt) =>
          Effect.map(
            submit("renewal", {
              _tag: "Renew",
              holdId: hold.id,
              key: hold.key,
              userId: hold.userId,
              expiresAt,
              charge
            }),
            renewed
          )
        )

      const renew = Effect.fnUntraced(function* (hold: Hold, metered: Outcome) {
        return yield* renewWith(hold, ledgerCharge(hold, metered))
      }, traced("Billing.renew"))

      const renewals = yield* makeHoldRenewal({
        renew,
        times: renewalTimes,
        onLost: (hold: Hold) =>
          Effect.logWarning(
            `Hold ${hold.id} of request ${hold.requestId} is gone while the request runs: it expired (its renewals ` +
              "did not reach the database in time), or a database crash lost it with its reserve; the request is " +
              "charged at most what is then available"
          )
      })
      const keepAlive = renewals.keep

      /** Reports what a settle did: the balance gauge, and any part of the charge the account could not pay. */
      const settled = (hold: Hold, charge: LedgerCharge | undefined, result: Settlement) =>
        Effect.gen(function* () {
          if (result.status === "already_settled" && charge !== undefined) {
            // The sweeper charged the hold from what a renewal had recorded (the renewals stopped reaching
            // the database in time); what was metered since cannot be charged again under the same hold.
            const missed = charge.cost - result.charged - result.uncollected
            if (missed > 0n) {
              yield* events.uncollected(charge.model, missed)
              yield* Effect.logWarning(
                `Request ${hold.requestId} of ${hold.userId} cost ${usdText(charge.cost)}, but its hold had already ` +
                  `been charged ${usdText(result.charged)} when it expired: ${usdText(missed)} uncollected`
              )
            }
          }
          if (result.status !== "charged") return result
          yield* events.balanceChanged(hold.userId, result.balance)
          if (charge !== undefined && result.uncollected > 0n) {
            yield* events.uncollected(charge.model, result.uncollected)
            yield* Effect.logWarning(
              `Request ${hold.requestId} of ${hold.userId} cost ${usdText(charge.cost)}, more than the account had ` +
                `available (its hold was ${usdText(hold.amount)}): charged ${usdText(result.charged)}, ` +
                `uncollected ${usdText(result.uncollected)}`
            )
          }
          return result
        })

      const settle = Effect.fnUntraced(
        function* (hold: Hold, outcome: Outcome) {
          const charge = ledgerCharge(hold, outcome)
          const settle = { holdId: hold.id, key: hold.key, userId: hold.userId, requestId: hold.requestId, charge }
          const attempt = Effect.map(submit("settle", { _tag: "Settle", settle }), settleResult)
          // Settling is idempotent (by hold id), so a statement whose answer was lost can safely run again.
          const first = yield* Effect.result(
            Effect.retry(attempt, { times: settleRetriesBeforeAnswer, schedule: Schedule.exponential("100 millis") })
          )
          if (Result.isSuccess(first)) return yield* settled(hold, charge, first.success)
          yield* Effect.forkIn(
            settleInBackground({
              hold,
              charge,
              ttlMs: Duration.toMillis(config.holdTtl),
              settle: Effect.flatMap(attempt, (result) => settled(hold, charge, result)),
              recordIntent: renewWith(hold, charge),
              unsettled: (amount) => (charge === undefined ? Effect.void : events.unsettled(charge.model, amount))
            }),
            layerScope
          )
          return undefined
        },
        Effect.uninterruptible,
        traced("Billing.settle")
      )

      const balance = Effect.fn("Billing.balance")(function* (userId: string, lookup: AccountLookup = "open") {
        const account =
          lookup === "open"
            ? yield* run("balance", db.account(userId))
            : yield* Effect.flatMap(run("balance", db.existingAccount(userId)), (state) =>
                state === undefined ? Effect.fail(noAccount(userId)) : Effect.succeed(state)
              )
        const body: Balance = {
          user_id: userId,
          balance: usdJson(account.balance),
          available: usdJson(account.available)
        }
        return body
      })

      const transactions = Effect.fn("Billing.transactions")(function* (
        userId: string,
        { limit, offset, ...filter }: { readonly limit: number; readonly offset: number } & LedgerFilter,
        lookup: AccountLookup = "open"
      ) {
        let page = yield* run("transactions", db.page(userId, limit, offset, filter))
        if (page === undefined) {
          if (lookup === "existing") return yield* noAccount(userId)
          yield* run("transactions", db.account(userId))
          page = yield* run("transactions", db.page(userId, limit, offset, filter))
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

      const usage = Effect.fn("Billing.usage")(function* (query: UsageQuery) {
        return summarizeUsage(yield* run("usage", db.usage(query.userId, query.from, query.to)), query)
      })

      const accounts = Effect.fn("Billing.accounts")(function* (query: {
        readonly search: string
        readonly sort: AccountSort
        readonly descending: boolean
        readonly limit: number
        readonly offset: number
      }) {
        const page = yield* run("accounts", db.accounts(query))
        const list: AccountList = {
          accounts: page.rows.map((row) => ({
            user_id: row.userId,
            balance: usdJson(row.balance),
            available: usdJson(row.available),
            updated_at: row.updatedAt.toISOString()
          })),
          limit: query.limit,
          offset: query.offset,
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
              `An adjustment of ${usdText(input.amount)} would take the balance of ${input.userId} below zero ` +
              `(available: ${usdText(result.available)})`,
            param: "amount"
          })
        }
        yield* events.balanceChanged(input.userId, result.balance)
        const body: Balance = {
          user_id: input.userId,
          balance: usdJson(result.balance),
          available: usdJson(result.available)
        }
        return body
      })

      const releaseExpired = sweepOnce(
        (now) => run("sweep of expired holds", db.sweepExpired(now, sweepBatchSize)),
        sweepBatchSize,
        events
      ).pipe(Effect.withSpan("Billing.releaseExpired"))

      yield* Effect.forkScoped(sweepExpiredHolds(releaseExpired, Duration.toMillis(config.sweepInterval)))

      return Billing.of({
        reserve,
        renew,
        keepAlive,
        settle,
        balance,
        transactions,
        usage,
        accounts,
        credit,
        releaseExpired
      })
    })
  ).pipe(Layer.provide(Database.layer))

  /**
   * A Billing that never refuses and keeps nothing, for suites that test something else (retries, breakers,
   * fallbacks) on TestClock without a database: every hold is granted at its worst case, every settle does nothing.
   */
  static readonly layerTest = Layer.sync(Billing, () => {
    let nextId = 0n
    const unlimited = { user_id: "", balance: usdJson(10n ** 18n), available: usdJson(10n ** 18n) }
    return Billing.of({
      reserve: (reservation) =>
        Effect.sync(() => ({
          id: ++nextId,
          key: `key-${nextId}`,
          userId: reservation.userId,
          requestId: reservation.requestId,
          model: reservation.model,
          amount:
            reservation.promptCost +
            Money.costOf(reservation.maxTokens * reservation.choices, reservation.outputPricePerMillion),
          maxTokens: reservation.maxTokens
        })),
      renew: () => Effect.succeed(true),
      keepAlive: () => Effect.void,
      settle: () => Effect.undefined,
      balance: (userId) => Effect.succeed({ ...unlimited, user_id: userId }),
      transactions: (userId, page) =>
        Effect.succeed({ user_id: userId, transactions: [], limit: page.limit, offset: page.offset, total: 0 }),
      usage: (query) => Effect.succeed(summarizeUsage([], query)),
      accounts: (query) => Effect.succeed({ accounts: [], limit: query.limit, offset: query.offset, total: 0 }),
      credit: ({ userId }) => Effect.succeed({ ...unlimited, user_id: userId }),
      releaseExpired: Effect.succeed(0)
    })
  })
}
