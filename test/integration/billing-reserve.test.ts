/**
 * The ledger's arithmetic, amount by amount, against a real database: what a reserve holds
 * (several choices, a price between two nano-dollars, a free model) and what a charge beyond the
 * balance takes while other requests hold money, and what the sweeper and an adjustment take. Every expected amount is worked out by hand in
 * a comment; the reservations are written out, not computed by Metering, so that only the
 * ledger's own SQL (billing_apply) is under test.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll } from "vitest"
import { Billing } from "../../src/services/billing/Billing.ts"
import type { Reservation } from "../../src/services/billing/Metering.ts"
import { accountOf, billingLayer, chargeOutcome, holdsOf, ledgerOf, ledgerViolations } from "../support/billing.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { catalogModel as model, newUser, scripted, usd } from "../support/scripted.ts"
import { postgresAvailable } from "../support/services.ts"

let database: FreshDatabase
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("billing_reserve")
})
afterAll(() => database?.drop())

const layer = (initialBalance: string) =>
  billingLayer(database.url, scripted().provider, { BILLING_INITIAL_BALANCE: initialBalance })

/** A reservation written out: `promptCost` and `outputPrice` in nano-dollars (the price per million tokens). */
const reservationOf = (
  userId: string,
  fields: { promptCost: bigint; outputPrice: bigint; choices: number; maxTokens: number }
) =>
  Effect.map(model("gpt-4"), (gpt4): Reservation => ({
    userId,
    requestId: `${userId}-request`,
    model: gpt4,
    promptTokens: 100,
    promptCost: fields.promptCost,
    outputPricePerMillion: fields.outputPrice,
    choices: fields.choices,
    maxTokens: fields.maxTokens
  }))

describe.skipIf(!postgresAvailable)("what a reserve holds", () => {
  it.effect("n completions: the budget the balance pays for is split between them, and each is held", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("choices")
      // $0.01 = 10,000,000 nano-dollars; after a 1,000,000 prompt, 9,000,000 buy 9,000,000 × 10^6 / 60,000,000,000
      // = 150 output tokens at $60 per million: 75 for each of the 2 choices.
      const hold = yield* billing.reserve(
        yield* reservationOf(userId, {
          promptCost: 1_000_000n,
          outputPrice: 60_000_000_000n,
          choices: 2,
          maxTokens: 1000
        })
      )
      expect(hold.maxTokens).toBe(75)
      // 1,000,000 + 75 tokens × 2 choices × 60,000 nano-dollars = 10,000,000: all of it.
      expect(hold.amount).toBe(10_000_000n)
      expect(yield* holdsOf(userId)).toMatchObject([{ amount: "0.010000000" }])
      expect(yield* accountOf(userId)).toMatchObject({ balance: "0.010000000", held: "0.010000000" })
    }).pipe(Effect.provide(layer("0.01")))
  )

  it.effect("a worst case between two nano-dollars is held rounded up", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("hold-rounded")
      // $0.0000015 per million tokens: 1,500 nano-dollars per million, 0.0015 a token; 3 tokens cost 0.0045,
      // held as 1 nano-dollar on top of the 7 of the prompt. Rounded down it would be 7.
      const hold = yield* billing.reserve(
        yield* reservationOf(userId, { promptCost: 7n, outputPrice: 1_500n, choices: 1, maxTokens: 3 })
      )
      expect(hold).toMatchObject({ maxTokens: 3, amount: 8n })
      expect(yield* holdsOf(userId)).toMatchObject([{ amount: "0.000000008" }])
    }).pipe(Effect.provide(layer("100")))
  )

  it.effect("a model whose output is free gets the budget asked for, held at the prompt's cost", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("free-output")
      const hold = yield* billing.reserve(
        yield* reservationOf(userId, { promptCost: 5_000n, outputPrice: 0n, choices: 1, maxTokens: 4096 })
      )
      expect(hold).toMatchObject({ maxTokens: 4096, amount: 5_000n })
    }).pipe(Effect.provide(layer("0.00001")))
  )
})

describe.skipIf(!postgresAvailable)("what a charge takes", () => {
  // Real time: a settle the database refuses (a balance taken below zero) comes back undefined after its two quick
  // retries, and fails the assertion below, instead of waiting for a test clock that stands still.
  it.live("beyond the balance: what is available, never what other requests in flight hold", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const gpt4 = yield* model("gpt-4")
      const userId = newUser("charge-beside-hold")
      // Two requests of one account with $1: each holds 100,000 + 5 × 60,000 = 400,000 nano-dollars.
      const fields = { promptCost: 100_000n, outputPrice: 60_000_000_000n, choices: 1, maxTokens: 5 }
      const first = yield* billing.reserve(yield* reservationOf(userId, fields))
      const second = yield* billing.reserve({ ...(yield* reservationOf(userId, fields)), requestId: `${userId}-2` })
      expect([first.amount, second.amount]).toEqual([400_000n, 400_000n])
      // The first is charged 1,000,000 prompt tokens × 30,000 = $30: it may take only what the second does not
      // hold, 1,000,000,000 − 400,000 = 999,600,000 nano-dollars; the rest is uncollected.
      const settled = yield* billing.settle(
        first,
        chargeOutcome(gpt4, { promptTokens: 1_000_000, completionTokens: 0 })
      )
      expect(settled).toMatchObject({
        status: "charged",
        charged: 999_600_000n,
        uncollected: usd("30") - 999_600_000n,
        balance: 400_000n,
        available: 0n
      })
      expect(yield* accountOf(userId)).toMatchObject({ balance: "0.000400000", held: "0.000400000" })
      // The second still has its money: it is charged what it used, 5 × 60,000.
      const last = yield* billing.settle(second, chargeOutcome(gpt4, { promptTokens: 0, completionTokens: 5 }))
      expect(last).toMatchObject({ status: "charged", charged: 300_000n, uncollected: 0n, balance: 100_000n })
      expect((yield* ledgerOf(userId)).map((row) => [row.kind, row.amount, row.balance_after])).toEqual([
        ["initial", "1.000000000", "1.000000000"],
        ["charge", "-0.999600000", "0.000400000"],
        ["charge", "-0.000300000", "0.000100000"]
      ])
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(layer("1")))
  )
})

describe.skipIf(!postgresAvailable)("what the sweeper and an adjustment take", () => {
  it.effect("the sweeper charges what an expired hold metered up to what is available, beside another hold", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const gpt4 = yield* model("gpt-4")
      const userId = newUser("sweep-beyond")
      // Two holds of 400,000 nano-dollars on $1 (as above); the first meters $30 and its process dies.
      const fields = { promptCost: 100_000n, outputPrice: 60_000_000_000n, choices: 1, maxTokens: 5 }
      const first = yield* billing.reserve(yield* reservationOf(userId, fields))
      yield* billing.reserve({ ...(yield* reservationOf(userId, fields)), requestId: `${userId}-2` })
      expect(
        yield* billing.renew(first, chargeOutcome(gpt4, { promptTokens: 1_000_000, completionTokens: 0 }, "partial"))
      ).toBe(true)
      // Both expire (the TTL is 900 s); the sweeper takes both, charging the first what the second does not hold
      // at the time (999,600,000), then releasing the second.
      yield* TestClock.adjust(901_000)
      expect(yield* billing.releaseExpired).toBe(2)
      const charges = (yield* ledgerOf(userId)).filter((row) => row.kind === "charge")
      expect(charges.map((row) => [row.amount, row.uncollected])).toEqual([["-0.999600000", "29.000400000"]])
      expect(yield* accountOf(userId)).toMatchObject({ balance: "0.000400000", held: "0.000000000" })
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(layer("1")))
  )

  it.effect("an adjustment never takes what requests in flight hold; credits and adjustments are told apart", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("adjusted")
      // $1 with a hold of 400,000 nano-dollars: 999,600,000 available.
      yield* billing.reserve(
        yield* reservationOf(userId, { promptCost: 100_000n, outputPrice: 60_000_000_000n, choices: 1, maxTokens: 5 })
      )
      const refused = yield* Effect.flip(
        billing.credit({ userId, amount: -999_600_001n, description: "too much", actor: "admin-1" })
      )
      expect(refused._tag).toBe("ValidationError")
      yield* billing.credit({ userId, amount: -999_600_000n, description: "all that is free", actor: "admin-1" })
      yield* billing.credit({ userId, amount: 5n, description: "a little back", actor: "admin-1" })
      expect((yield* ledgerOf(userId)).map((row) => [row.kind, row.amount])).toEqual([
        ["initial", "1.000000000"],
        ["adjustment", "-0.999600000"],
        ["credit", "0.000000005"]
      ])
      expect(yield* accountOf(userId)).toMatchObject({ balance: "0.000400005", held: "0.000400000" })
    }).pipe(Effect.provide(layer("1")))
  )
})
