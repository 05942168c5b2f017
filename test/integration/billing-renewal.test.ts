/**
 * Holds live as long as their request: the owner renews them every third of the TTL while the
 * request runs (plain or streamed), writing on them what was metered so far; the sweeper takes
 * only holds whose owner stopped renewing, and charges what they had metered. On TestClock,
 * against the real database.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber, Layer, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll } from "vitest"
import type { ChatCompletionChunk } from "../../src/domain/Chat.ts"
import { Billing, type Hold } from "../../src/services/billing/Billing.ts"
import { reservationFor } from "../../src/services/billing/Metering.ts"
import { ChatCompletions } from "../../src/services/chat/ChatCompletions.ts"
import {
  billingLayer,
  recordedEvents,
  chargeOutcome,
  chargesOf,
  eventually,
  holdsOf,
  ledgerViolations
} from "../support/billing.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { gpt4Prices, handCost } from "../support/handCost.ts"
import { catalogModel as model, consume, inputFor, newUser, scripted, simulator, usd } from "../support/scripted.ts"
import { providerStream } from "../support/scriptedStreams.ts"
import { postgresAvailable } from "../support/services.ts"

let database: FreshDatabase
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("billing_renewal")
})
afterAll(() => database?.drop())

/** BILLING_HOLD_TTL_SECONDS' default; renewals every third of it. */
const ttl = 900_000
const renewal = ttl / 3

/**
 * Time passes a third of the TTL at a time, each renewal landing (the hold's `metered_at` moves, whatever it
 * carries) before the next; each must have moved the hold's expiry to a full TTL past the test clock's now.
 */
const renewedFor = (userId: string, duration: number) =>
  Effect.gen(function* () {
    let landed = (yield* holdsOf(userId))[0]?.metered_at?.getTime()
    for (let elapsed = 0; elapsed < duration; elapsed += renewal) {
      yield* TestClock.adjust(renewal)
      const now = yield* Clock.currentTimeMillis
      yield* eventually(Effect.map(holdsOf(userId), (holds) => holds[0]?.metered_at?.getTime() !== landed))
      const hold = (yield* holdsOf(userId))[0]!
      expect(hold.expires_at.getTime()).toBe(now + ttl)
      landed = hold.metered_at?.getTime()
    }
  })

/** A stream that sends `before`, waits for the gate, then sends `after`. */
const gated = (before: ReadonlyArray<ChatCompletionChunk>, after: ReadonlyArray<ChatCompletionChunk>) => {
  const started = Deferred.makeUnsafe<void>()
  const gate = Deferred.makeUnsafe<void>()
  const { provider } = scripted({
    stream: () =>
      Stream.concat(
        Stream.fromIterable(before),
        Stream.fromEffect(Effect.andThen(Deferred.succeed(started, undefined), Deferred.await(gate))).pipe(
          Stream.drain,
          Stream.concat(Stream.fromIterable(after))
        )
      ),
    complete: (request) =>
      Effect.andThen(
        Effect.andThen(Deferred.succeed(started, undefined), Deferred.await(gate)),
        simulator.complete(request)
      )
  })
  return { provider, started, open: Deferred.succeed(gate, undefined) }
}

describe.skipIf(!postgresAvailable)("a request longer than the hold TTL", () => {
  const pieces = Array.from({ length: 40 }, (_, i) => `word${i} `)
  const usage = { prompt: 25, cached: 5, completion: 4000, reasoning: 100 }
  // Anthropic's shape: the prompt counts arrive at once, the final usage at the end.
  const whole = providerStream("anthropic", pieces, usage)
  const { provider, started, open } = gated(whole.slice(0, 12), whole.slice(12))

  it.effect("keeps its hold, so no other request can reserve its money, and is charged its usage exactly", () =>
    Effect.gen(function* () {
      const chat = yield* ChatCompletions
      const userId = newUser("long-stream")
      const stream = yield* Effect.forkChild(consume(inputFor(userId, { stream: true })))
      yield* Deferred.await(started)
      const [reserved] = yield* holdsOf(userId)
      // The hold takes (almost) all of the balance: the completion budget was clamped to it.
      expect(usd(reserved!.amount)).toBeGreaterThan(usd("0.29"))

      yield* renewedFor(userId, 2.5 * ttl)
      const hold = (yield* holdsOf(userId))[0]!
      expect(hold.id).toBe(reserved!.id)
      // Each renewal wrote what the stream had metered: the provider's prompt, the text streamed so far.
      expect(hold.metered_cost).not.toBeNull()
      expect(hold.completion_tokens).toBeGreaterThan(0)

      const second = yield* Effect.flip(chat.complete(inputFor(userId)))
      expect(second._tag).toBe("InsufficientBalance")

      yield* open
      const chunks = yield* Fiber.join(stream)
      expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 25, completion_tokens: 4000 })
      const [charge] = yield* chargesOf(userId)
      expect(charge).toMatchObject({
        usage_source: "provider",
        prompt_tokens: 25,
        cached_tokens: 5,
        completion_tokens: 4000,
        reasoning_tokens: 100,
        uncollected: "0.000000000"
      })
      // 25 × 30,000 (gpt-4 has no cache price: cached tokens at the input price) + 4,000 × 60,000 nano-dollars.
      expect(usd(charge!.amount)).toBe(-240_750_000n)
      expect(yield* holdsOf(userId)).toEqual([])
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, provider, { BILLING_INITIAL_BALANCE: "0.3" })))
  )
})

describe.skipIf(!postgresAvailable)("a plain request longer than a third of the hold TTL", () => {
  const { provider, started, open } = gated([], [])
  // Start-up keeps every upstream timeout below the TTL; these let the call run for most of it.
  const slowUpstream = { UPSTREAM_ATTEMPT_TIMEOUT_SECONDS: "850", UPSTREAM_REQUEST_TIMEOUT_SECONDS: "850" }

  it.effect("has its hold renewed until its answer, then is charged the answer's usage", () =>
    Effect.gen(function* () {
      const chat = yield* ChatCompletions
      const userId = newUser("long-plain")
      const request = yield* Effect.forkChild(chat.complete(inputFor(userId)))
      yield* Deferred.await(started)
      yield* renewedFor(userId, 2 * renewal)
      expect((yield* holdsOf(userId))[0]!.expires_at.getTime()).toBe(2 * renewal + ttl)
      // Nothing is metered before the answer: the renewals only keep the hold alive.
      expect((yield* holdsOf(userId))[0]!.metered_cost).toBeNull()
      yield* open
      const { completion, settlement } = yield* Fiber.join(request)
      const cost = handCost(gpt4Prices, {
        promptTokens: completion.usage!.prompt_tokens,
        completionTokens: completion.usage!.completion_tokens
      })
      expect(settlement).toMatchObject({ status: "charged", charged: cost })
      expect(yield* holdsOf(userId)).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, provider, slowUpstream)))
  )
})

describe.skipIf(!postgresAvailable)("a hold whose owner stopped renewing it", () => {
  const reserveFor = (userId: string) =>
    Effect.gen(function* () {
      const input = inputFor(userId)
      const reservation = Result.getOrThrow(
        reservationFor({ ...input, userId, model: yield* model("gpt-4"), candidates: [], maxTokens: 1000 })
      )
      return yield* (yield* Billing).reserve(reservation)
    })

  it.effect("is charged by the sweeper what its request had metered, once it expires", () => {
    const events = recordedEvents()
    return Effect.gen(function* () {
      const billing = yield* Billing
      const gpt4 = yield* model("gpt-4")
      const userId = newUser("crashed-mid-stream")
      const hold = yield* reserveFor(userId)
      const metered = chargeOutcome(gpt4, { promptTokens: 30, completionTokens: 500 }, "partial")
      expect(yield* billing.renew(hold, metered)).toBe(true)
      // The process dies here: no more renewals, no settle.
      yield* TestClock.adjust(ttl - 1)
      expect(yield* billing.releaseExpired).toBe(0)
      yield* TestClock.adjust(2)
      expect(yield* billing.releaseExpired).toBe(1)
      const [charge] = yield* chargesOf(userId)
      expect(charge).toMatchObject({
        description: "Chat completion with gpt-4 (charged when its hold expired)",
        usage_source: "partial",
        prompt_tokens: 30,
        completion_tokens: 500,
        input_price_per_1m: "30.000000000",
        output_price_per_1m: "60.000000000"
      })
      // 30 × 30,000 + 500 × 60,000 nano-dollars.
      expect(usd(charge!.amount)).toBe(-30_900_000n)
      // The request's own settle, should its process come back, finds the hold settled and writes nothing.
      const late = yield* billing.settle(hold, chargeOutcome(gpt4, { promptTokens: 30, completionTokens: 900 }))
      expect(late).toMatchObject({ status: "already_settled", charged: -usd(charge!.amount) })
      // What it metered after its last renewal cannot be charged under the same hold: it is counted.
      // 400 completion tokens × 60,000 nano-dollars.
      expect(events.uncollected).toEqual([["gpt-4", 24_000_000n]])
      expect(yield* billing.renew(hold, metered)).toBe(false)
      expect(yield* chargesOf(userId)).toHaveLength(1)
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider).pipe(Layer.provide(events.layer))))
  })

  it.effect("is charged exactly once when its late settle races the sweeper", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const gpt4 = yield* model("gpt-4")
      const userId = newUser("race")
      const holds: Array<Hold> = []
      for (let i = 0; i < 20; i++) holds.push(yield* reserveFor(userId))
      for (const hold of holds) {
        yield* billing.renew(hold, chargeOutcome(gpt4, { promptTokens: 10, completionTokens: 100 }, "partial"))
      }
      yield* TestClock.adjust(ttl + 1)
      const final = chargeOutcome(gpt4, { promptTokens: 10, completionTokens: 200 })
      yield* Effect.all([billing.releaseExpired, ...holds.map((hold) => billing.settle(hold, final))], {
        concurrency: "unbounded"
      })
      yield* billing.releaseExpired
      const charges = yield* chargesOf(userId)
      expect(charges).toHaveLength(20)
      expect(new Set(charges.map((charge) => charge.request_id)).size).toBe(20)
      expect(yield* holdsOf(userId)).toEqual([])
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
  )
})
