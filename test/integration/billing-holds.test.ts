/**
 * Holds and the ledger at rest: holds left by a crashed process expire and are released (at
 * start-up and by the background sweeper), a request that outlives its hold is still charged
 * within what is available, settling is idempotent, and the ledger cannot be rewritten.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll } from "vitest"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import { Billing } from "../../src/services/billing/Billing.ts"
import { minimumCost, reservationFor } from "../../src/services/billing/Metering.ts"
import {
  billingLayer,
  settleIo,
  chargeOutcome,
  eventually,
  holdsOf,
  ledgerOf,
  ledgerViolations
} from "../support/billing.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { catalogModel as model, expectOnlyInitial, inputFor, newUser, scripted, usd } from "../support/scripted.ts"
import { postgresAvailable } from "../support/services.ts"

let database: FreshDatabase
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("billing_holds")
})
afterAll(() => database?.drop())

describe.skipIf(!postgresAvailable)("holds left by a crashed process", () => {
  const ttl = 900_000
  const reserveAndCrash = (userId: string) =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const gpt4: CatalogModel = yield* model("gpt-4")
      const input = inputFor(userId)
      return yield* billing.reserve(
        Result.getOrThrow(reservationFor({ ...input, userId, model: gpt4, candidates: [], maxTokens: 100 }))
      )
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))

  it.effect("expire after the hold TTL and are released, charging nothing", () =>
    Effect.gen(function* () {
      const userId = newUser("crashed")
      yield* reserveAndCrash(userId)
      yield* Effect.gen(function* () {
        const billing = yield* Billing
        expect(yield* holdsOf(userId)).toHaveLength(1)
        yield* TestClock.adjust(ttl - 1000)
        expect(yield* billing.releaseExpired).toBe(0)
        expect(yield* holdsOf(userId)).toHaveLength(1)
        yield* TestClock.adjust(2000)
        expect(yield* billing.releaseExpired).toBeGreaterThanOrEqual(1)
        yield* expectOnlyInitial(userId, "100")
      }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
    })
  )

  it.effect("are released when the gateway starts again", () =>
    Effect.gen(function* () {
      const userId = newUser("restarted")
      yield* reserveAndCrash(userId)
      yield* TestClock.adjust(ttl + 1000)
      yield* Effect.gen(function* () {
        yield* eventually(Effect.map(holdsOf(userId), (holds) => holds.length === 0))
        yield* expectOnlyInitial(userId, "100")
      }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
    })
  )

  it.effect("are released by the background sweeper once expired, and not before", () =>
    Effect.gen(function* () {
      const userId = newUser("swept")
      yield* Effect.gen(function* () {
        yield* reserveAndCrash(userId)
        // Time passes one sweep interval (BILLING_SWEEP_INTERVAL_SECONDS) at a time, while the sweeper's statements run.
        const minute = Effect.andThen(TestClock.adjust(60_000), settleIo)
        for (let elapsed = 60_000; elapsed < ttl; elapsed += 60_000) yield* minute
        expect(yield* holdsOf(userId)).toHaveLength(1)
        // Released within a few intervals past expiry (each sweep's statement takes real time to run).
        let minutesPastExpiry = 0
        while ((yield* holdsOf(userId)).length > 0 && minutesPastExpiry < 10) {
          yield* minute
          minutesPastExpiry++
        }
        expect(minutesPastExpiry).toBeLessThanOrEqual(5)
        yield* expectOnlyInitial(userId, "100")
      }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
    })
  )

  it.effect("a request that outlives its hold is still charged, within what is available", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("late")
      const gpt4 = yield* model("gpt-4")
      const input = inputFor(userId)
      const reservation = Result.getOrThrow(
        reservationFor({ ...input, userId, model: gpt4, candidates: [], maxTokens: 100 })
      )
      const hold = yield* billing.reserve(reservation)
      yield* TestClock.adjust(ttl + 1000)
      yield* billing.releaseExpired
      const outcome = chargeOutcome(gpt4, { promptTokens: 10, completionTokens: 20 })
      const settled = yield* billing.settle(hold, outcome)
      // 10 × 30,000 + 20 × 60,000 nano-dollars ($30 and $60 per million tokens).
      expect(settled).toMatchObject({ status: "charged", charged: 1_500_000n })
      expect(minimumCost(reservation)).toBeGreaterThan(0n)
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
  )
})

describe.skipIf(!postgresAvailable)("the ledger", () => {
  // Real time: were the second settle to try a second charge, the ledger's unique hold id would refuse it and the
  // settle would come back undefined after its two quick retries, failing the assertion, not a test timeout.
  it.live("settling twice charges once, and the second settle says it found the hold settled", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("twice")
      const gpt4 = yield* model("gpt-4")
      const input = inputFor(userId)
      const hold = yield* billing.reserve(
        Result.getOrThrow(reservationFor({ ...input, userId, model: gpt4, candidates: [], maxTokens: 100 }))
      )
      const outcome = chargeOutcome(gpt4, { promptTokens: 10, completionTokens: 10 })
      // 10 × 30,000 + 10 × 60,000 nano-dollars ($30 and $60 per million tokens).
      const cost = 900_000n
      const first = yield* billing.settle(hold, outcome)
      const second = yield* billing.settle(hold, outcome)
      expect(first).toMatchObject({ status: "charged", charged: cost, balance: usd("100") - cost })
      // The second charged nothing: it says it found the hold settled, reports that one charge, and the
      // balance is still the one after it.
      expect(second).toMatchObject({ status: "already_settled", charged: cost, balance: usd("100") - cost })
      expect((yield* ledgerOf(userId)).map((row) => [row.kind, row.amount])).toEqual([
        ["initial", "100.000000000"],
        ["charge", "-0.000900000"]
      ])
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
  )

  it.effect("is append-only: rows cannot be changed or deleted", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const userId = newUser("immutable")
      yield* (yield* Billing).balance(userId)
      for (const statement of [
        sql`UPDATE billing_transactions SET amount = 1000 WHERE user_id = ${userId}`,
        sql`DELETE FROM billing_transactions WHERE user_id = ${userId}`,
        sql`TRUNCATE billing_transactions CASCADE`
      ]) {
        const failure = yield* Effect.flip(statement)
        expect(String((failure.reason.cause as Error).message)).toMatch(/append-only/)
      }
      expect((yield* ledgerOf(userId)).map((row) => row.amount)).toEqual(["100.000000000"])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
  )
})
