/**
 * Settles that fail are retried and never lost silently. Database blips are real: a trigger
 * on the ledger refuses a request's charge a given number of times (counted by a sequence,
 * which a failed transaction does not roll back). On TestClock, against the real database.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Result, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll } from "vitest"
import { Billing } from "../../src/services/billing/Billing.ts"
import { reservationFor } from "../../src/services/billing/Metering.ts"
import {
  billingLayer,
  settleIo,
  recordedEvents,
  chargeOutcome,
  chargesOf,
  holdsOf,
  ledgerViolations
} from "../support/billing.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { catalogModel as model, inputFor, newUser, scripted, usd } from "../support/scripted.ts"
import { postgresAvailable } from "../support/services.ts"
import { runSql } from "../support/sql.ts"

let database: FreshDatabase
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("billing_retry")
})
afterAll(() => database?.drop())

let faults = 0
/**
 * Makes the next `times` charges that settles write for `requestId` fail as a database error
 * would (the sweeper's charges go through); returns how to count the failures, and to stop.
 */
const failCharges = (requestId: string, times: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const name = `billing_fault_${++faults}`
    yield* sql.unsafe(`CREATE SEQUENCE ${name}`)
    yield* sql.unsafe(`
      CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.request_id = '${requestId}' AND NEW.description NOT LIKE '%hold expired%'
           AND nextval('${name}') <= ${times} THEN
          RAISE EXCEPTION 'simulated database blip';
        END IF;
        RETURN NEW;
      END $$`)
    yield* sql.unsafe(
      `CREATE TRIGGER ${name} BEFORE INSERT ON billing_transactions FOR EACH ROW EXECUTE FUNCTION ${name}()`
    )
    return {
      failures: Effect.map(
        sql<{ readonly n: number }>`SELECT CASE WHEN is_called THEN last_value ELSE 0 END::int AS n FROM ${sql(name)}`,
        (rows) => Math.min(rows[0]!.n, times)
      ),
      remove: sql.unsafe(`DROP TRIGGER ${name} ON billing_transactions`)
    }
  })

/** Moves the test clock in small steps (each statement of the service finishing in between) until `done`. */
const advanceUntil = <E, R>(done: Effect.Effect<boolean, E, R>, stepMs = 100) =>
  Effect.gen(function* () {
    for (let step = 0; step < 20_000; step++) {
      if (yield* done) return
      yield* TestClock.adjust(stepMs)
      yield* settleIo
    }
    return yield* Effect.die(new Error("never done"))
  })

const reserve = (userId: string) =>
  Effect.gen(function* () {
    const input = inputFor(userId)
    const reservation = Result.getOrThrow(
      reservationFor({ ...input, userId, model: yield* model("gpt-4"), candidates: [], maxTokens: 100 })
    )
    return yield* (yield* Billing).reserve(reservation)
  })

const usage = { promptTokens: 40, completionTokens: 60 }

describe.skipIf(!postgresAvailable)("a settle that fails", () => {
  it.effect(
    "once is retried before the answer and charged exactly once; settling again writes nothing, and says so",
    () =>
      Effect.gen(function* () {
        const billing = yield* Billing
        const gpt4 = yield* model("gpt-4")
        const userId = newUser("blip")
        const hold = yield* reserve(userId)
        const fault = yield* failCharges(hold.requestId, 1)
        const settling = yield* Effect.forkChild(billing.settle(hold, chargeOutcome(gpt4, usage)))
        yield* advanceUntil(Effect.map(fault.failures, (n) => n === 1))
        yield* advanceUntil(Effect.map(chargesOf(userId), (charges) => charges.length === 1))
        const first = yield* Fiber.join(settling)
        const cost = 4_800_000n // 40 × 30,000 + 60 × 60,000 nano-dollars ($30 and $60 per million tokens)
        expect(first).toMatchObject({ status: "charged", charged: cost })
        const second = yield* billing.settle(hold, chargeOutcome(gpt4, usage))
        expect(second).toMatchObject({ status: "already_settled", charged: cost, balance: first!.balance })
        expect(yield* chargesOf(userId)).toHaveLength(1)
        yield* fault.remove
        expect(yield* ledgerViolations([userId])).toEqual([])
      }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
  )

  it.effect("until after the answer goes on in the background, and is charged exactly once when it succeeds", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const gpt4 = yield* model("gpt-4")
      const userId = newUser("outage")
      const hold = yield* reserve(userId)
      // The three tries before the answer fail, and so do the first two in the background.
      const fault = yield* failCharges(hold.requestId, 5)
      const settling = yield* Effect.forkChild(billing.settle(hold, chargeOutcome(gpt4, usage)))
      yield* advanceUntil(Effect.map(fault.failures, (n) => n === 3))
      // The client is answered without a settlement; the hold now records the charge.
      expect(yield* Fiber.join(settling)).toBeUndefined()
      yield* advanceUntil(Effect.map(holdsOf(userId), (holds) => holds[0]?.metered_cost !== null))
      expect(yield* chargesOf(userId)).toEqual([])
      yield* advanceUntil(
        Effect.map(chargesOf(userId), (charges) => charges.length === 1),
        500
      )
      const [charge] = yield* chargesOf(userId)
      expect(charge).toMatchObject({
        description: "Chat completion with gpt-4",
        prompt_tokens: 40,
        completion_tokens: 60
      })
      expect(yield* fault.failures).toBe(5)
      expect(yield* holdsOf(userId)).toEqual([])
      yield* fault.remove
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
  )

  it.effect(
    "until the process stops leaves a hold that records the charge: counted as unsettled, charged by the sweeper",
    () => {
      const events = recordedEvents()
      return Effect.gen(function* () {
        const userId = newUser("stopped")
        // The first process: every charge its settles write fails, until it shuts down.
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(
          billingLayer(database.url, scripted().provider).pipe(Layer.provide(events.layer)),
          scope
        )
        const { hold, cost } = yield* Effect.gen(function* () {
          const gpt4 = yield* model("gpt-4")
          const hold = yield* reserve(userId)
          yield* failCharges(hold.requestId, 1_000_000)
          const settling = yield* Effect.forkChild((yield* Billing).settle(hold, chargeOutcome(gpt4, usage)))
          yield* advanceUntil(Effect.map(holdsOf(userId), (holds) => holds[0]?.metered_cost !== null))
          expect(yield* Fiber.join(settling)).toBeUndefined()
          return { hold, cost: 4_800_000n } // 40 × 30,000 + 60 × 60,000 nano-dollars
        }).pipe(Effect.provideContext(context))
        yield* Scope.close(scope, Exit.void)
        expect(events.unsettled).toEqual([["gpt-4", cost]])
        // 40 × $30 + 60 × $60 per million tokens.
        const between = (effect: Effect.Effect<unknown, unknown, SqlClient.SqlClient>) =>
          Effect.promise(() => runSql(database.url, effect))
        expect(yield* between(holdsOf(userId))).toMatchObject([{ metered_cost: "0.004800000" }])

        // The next process starts once the hold has expired; its sweeper charges what the hold recorded.
        yield* TestClock.adjust(901_000)
        yield* Effect.gen(function* () {
          yield* advanceUntil(Effect.map(chargesOf(userId), (charges) => charges.length === 1))
          const [charge] = yield* chargesOf(userId)
          expect(charge).toMatchObject({
            description: "Chat completion with gpt-4 (charged when its hold expired)",
            request_id: hold.requestId,
            usage_source: "provider"
          })
          expect(usd(charge!.amount)).toBe(-cost)
          expect(yield* ledgerViolations([userId])).toEqual([])
        }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
      })
    }
  )
})
